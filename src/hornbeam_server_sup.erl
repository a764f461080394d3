%% @doc Supervises the running HTTP servers, one child per `name'.
-module(hornbeam_server_sup).
-behaviour(supervisor).

-export([start_link/0, start_server/1, stop_server/1, find/1, init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts the server `Config' describes; returns once it accepts connections.
-spec start_server(map()) -> ok | {error, term()}.
start_server(#{name := Name, graceful_timeout := Graceful} = Config) ->
    Spec = #{id => Name,
             start => {hornbeam_server, start_link, [Config]},
             restart => transient,
             %% Draining may take graceful_timeout; the engine then closes what is left.
             shutdown => Graceful + 10000},
    case supervisor:start_child(?MODULE, Spec) of
        {ok, _Pid} -> ok;
        {error, {already_started, _}} -> {error, {already_started, Name}};
        {error, already_present} -> {error, {already_started, Name}};
        %% init/1 stopped: the supervisor adds the child spec, which callers never need.
        {error, {Reason, Child}} when element(1, Child) =:= child -> {error, Reason};
        {error, Reason} -> {error, Reason}
    end.

-spec stop_server(atom()) -> ok | {error, not_found}.
stop_server(Name) ->
    case supervisor:terminate_child(?MODULE, Name) of
        ok -> supervisor:delete_child(?MODULE, Name);
        {error, not_found} -> {error, not_found}
    end.

-spec find(atom()) -> {ok, pid()} | error.
find(Name) ->
    case [Pid || {Id, Pid, _, _} <- supervisor:which_children(?MODULE), Id =:= Name, is_pid(Pid)] of
        [Pid] -> {ok, Pid};
        [] -> error
    end.

init([]) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, []}}.
