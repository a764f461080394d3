%% @doc Where running contexts are found: `{pid, Pid} -> Resource` for every context,
%% and `{slot, N} -> {Pid, Resource}` for the application's pool. Entries of a context
%% that dies are removed when its monitor fires.
-module(py_registry).
-behaviour(gen_server).

-include("py.hrl").

-export([start_link/0, register/3, lookup/1, lookup_slot/1, slots/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

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

%% @doc How many pool slots there are (0 before the pool starts).
-spec slots() -> non_neg_integer().
slots() ->
    persistent_term:get({?MODULE, slots}, 0).

init([]) ->
    ets:new(?PY_CONTEXTS, [named_table, set, protected, {read_concurrency, true}]),
    {ok, #{}}.

handle_call({register, Pid, Slot, Resource}, _From, Monitors) ->
    ets:insert(?PY_CONTEXTS, {{pid, Pid}, Resource}),
    Slot =/= undefined andalso ets:insert(?PY_CONTEXTS, {{slot, Slot}, Pid, Resource}),
    Ref = erlang:monitor(process, Pid),
    {reply, ok, Monitors#{Ref => Pid}};
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_call}, State}.

handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info({'DOWN', Ref, process, Pid, _Reason}, Monitors) ->
    ets:delete(?PY_CONTEXTS, {pid, Pid}),
    %% A restarted context may already own the slot: delete only this pid's entry.
    ets:match_delete(?PY_CONTEXTS, {{slot, '_'}, Pid, '_'}),
    {noreply, maps:remove(Ref, Monitors)};
handle_info(_Info, State) ->
    {noreply, State}.
