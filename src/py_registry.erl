%% @doc Where running contexts are found: `{pid, Pid} -> Resource` for every context,
%% `{slot, N} -> {Pid, Resource}` for the application's pool, and for reactor contexts
%% `{reactor, Id} -> {Pid, Resource}` and `{reactor, Pid} -> {Pid, Resource}`. Entries
%% of a context that dies are removed when its monitor fires.
-module(py_registry).
-behaviour(gen_server).

-include("py.hrl").

-export([start_link/0, register/3, lookup/1, lookup_slot/1, slots/0,
         register_reactor/3, lookup_reactor/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Registers the calling context; `Slot` is its pool position or `undefined`.
-spec register(pid(), pos_integer() | undefined, reference()) -> ok.
register(Pid, Slot, Resource) ->
    gen_server:call(?MODULE, {register, Pid, Slot, Resource}).

-spec lookup(pid()) -> {ok, reference()} | error.
lookup(Pid) ->
    case ets:lookup(?PY_CONTEXTS, {pid, Pid}) of
        [{_, Resource}] -> {ok, Resource};
        [] -> error
    end.

-spec lookup_slot(pos_integer()) -> {ok, pid(), reference()} | error.
lookup_slot(Slot) ->
    case ets:lookup(?PY_CONTEXTS, {slot, Slot}) of
        [{_, Pid, Resource}] -> {ok, Pid, Resource};
        [] -> error
    end.

%% @doc Registers the calling reactor context under `Id' (unique among reactors).
-spec register_reactor(term(), pid(), reference()) -> ok | {error, {already_started, pid()}}.
register_reactor(Id, Pid, Resource) ->
    gen_server:call(?MODULE, {register_reactor, Id, Pid, Resource}).

%% @doc A reactor context by its id or its pid.
-spec lookup_reactor(term()) -> {ok, pid(), reference()} | error.
lookup_reactor(IdOrPid) ->
    case ets:lookup(?PY_CONTEXTS, {reactor, IdOrPid}) of
        [{_, Pid, Resource}] -> {ok, Pid, Resource};
        [] -> error
    end.

%% @doc How many pool slots there are (0 before the pool starts).
-spec slots() -> non_neg_integer().
slots() ->
    persistent_term:get({?MODULE, slots}, 0).

init([]) ->
    ?PY_CONTEXTS = ets:new(?PY_CONTEXTS, [named_table, set, protected, {read_concurrency, true}]),
    {ok, #{}}.

handle_call({register, Pid, Slot, Resource}, _From, Monitors) ->
    ets:insert(?PY_CONTEXTS, {{pid, Pid}, Resource}),
    Slot =/= undefined andalso ets:insert(?PY_CONTEXTS, {{slot, Slot}, Pid, Resource}),
    Ref = erlang:monitor(process, Pid),
    {reply, ok, Monitors#{Ref => Pid}};
handle_call({register_reactor, Id, Pid, Resource}, From, Monitors) ->
    %% A restarted reactor may register before its predecessor's 'DOWN' arrives here.
    case lookup_reactor(Id) of
        {ok, Other, _} when Other =/= Pid ->
            case is_process_alive(Other) of
                true -> {reply, {error, {already_started, Other}}, Monitors};
                false ->
                    ets:delete(?PY_CONTEXTS, {reactor, Other}),
                    ets:delete(?PY_CONTEXTS, {reactor, Id}),
                    handle_call({register_reactor, Id, Pid, Resource}, From, Monitors)
            end;
        _ ->
            ets:insert(?PY_CONTEXTS, [{{reactor, Id}, Pid, Resource}, {{reactor, Pid}, Pid, Resource}]),
            Ref = erlang:monitor(process, Pid),
            {reply, ok, Monitors#{Ref => Pid}}
    end;
handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

handle_info({'DOWN', Ref, process, Pid, _Reason}, Monitors) ->
    ets:delete(?PY_CONTEXTS, {pid, Pid}),
    %% A restarted context may already own the slot: delete only this pid's entry.
    ets:match_delete(?PY_CONTEXTS, {{slot, '_'}, Pid, '_'}),
    ets:match_delete(?PY_CONTEXTS, {{reactor, '_'}, Pid, '_'}),
    {noreply, maps:remove(Ref, Monitors)};
handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).
