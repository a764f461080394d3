%% @doc Runs `erlang.call' (and so every `hornbeam_erlang' function) for the Python
%% threads of one HTTP server (native/hornbeam_nif/src/agent.rs). The thread waits,
%% GIL released, for the answer, so the function runs here, inline: no process per
%% call. Each server starts one agent per worker and replaces one that dies; an agent
%% ends with its server.
%%
%% A gen_server, so it answers system messages (`sys:get_state/1', `observer') and
%% logs the first message it does not know.
-module(hornbeam_agent).
-behaviour(gen_server).

-export([start/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-record(state, {server :: reference()}).

%% @doc An agent for `Server', monitored by it (not linked: a crash in a function it
%% runs must not take the server down; the server starts another).
-spec start(pid()) -> pid().
start(Server) ->
    {ok, Agent} = gen_server:start(?MODULE, Server, []),
    Agent.

-spec init(pid()) -> {ok, #state{}}.
init(Server) ->
    {ok, #state{server = monitor(process, Server)}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, {error, unknown_call}, #state{}}.
handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, normal, #state{}}.
handle_info({py_call, Slot, Name, Args}, State) ->
    _ = py_nif:agent_reply(Slot, py_calls:invoke(Name, Args)),
    {noreply, State};
handle_info({py_send, Pid, Message}, State) ->
    Pid ! Message,
    {noreply, State};
handle_info({'DOWN', Server, process, _, _}, #state{server = Server} = State) ->
    {stop, normal, State};
handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).
