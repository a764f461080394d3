%% @doc Remote calls for Python (`hornbeam_erlang.rpc_call' and friends) over
%% distributed Erlang. Every failure comes back as a value naming its reason, which
%% the Python side raises: nothing waits longer than its timeout.
-module(hornbeam_dist).

-export([rpc_call/5, rpc_cast/4, nodes/0, node/0]).

-type name() :: atom() | binary() | string().

%% @doc `{ok, Result}', or `{error, Kind, Text}' with `Kind' one of `timeout',
%% `noconnection' (the node is unreachable or went down) or `exception' (the function
%% raised, exited or threw there).
-spec rpc_call(name(), name(), name(), [term()], timeout()) ->
          {ok, term()} | {error, timeout | noconnection | exception | badarg, binary()}.
rpc_call(Node, Module, Function, Args, Timeout) when is_list(Args) ->
    try
        {ok, erpc:call(atom(Node), atom(Module), atom(Function), Args, Timeout)}
    catch
        error:{erpc, timeout} ->
            {error, timeout, text("~ts:~ts on ~ts did not answer within ~p ms", [Module, Function, Node, Timeout])};
        error:{erpc, noconnection} ->
            {error, noconnection, text("node ~ts is unreachable", [Node])};
        error:{erpc, Reason} ->
            {error, badarg, text("rpc to ~ts failed: ~p", [Node, Reason])};
        error:{exception, Reason, Stack} ->
            {error, exception, text("error:~p in ~p", [Reason, first_frame(Stack)])};
        exit:{exception, Reason} ->
            {error, exception, text("exit:~p", [Reason])};
        throw:Value ->
            {error, exception, text("throw:~p", [Value])};
        error:{badarg, _} = Bad ->
            {error, badarg, text("~p", [Bad])}
    end.

%% @doc Runs the function on `Node' without waiting; `ok' even if the node is down,
%% as `erpc:cast/4'.
-spec rpc_cast(name(), name(), name(), [term()]) -> ok.
rpc_cast(Node, Module, Function, Args) when is_list(Args) ->
    erpc:cast(atom(Node), atom(Module), atom(Function), Args).

-spec nodes() -> [binary()].
nodes() ->
    [atom_to_binary(N, utf8) || N <- erlang:nodes()].

-spec node() -> binary().
node() ->
    atom_to_binary(erlang:node(), utf8).

atom(Name) when is_atom(Name) -> Name;
atom(Name) when is_binary(Name) -> binary_to_atom(Name, utf8);
atom(Name) when is_list(Name) -> list_to_atom(Name);
atom(Name) -> error({badarg, Name}).

first_frame([Frame | _]) -> Frame;
first_frame(_) -> unknown.

text(Format, Args) ->
    unicode:characters_to_binary(io_lib:format(Format, Args)).
