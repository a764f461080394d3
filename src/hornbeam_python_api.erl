%% @doc The Erlang half of the Python packages `hornbeam_erlang' and `hornbeam_ml'
%% (priv/python): `erlang.call("hornbeam.NAME", ...)' lands here through
%% `py_calls:invoke/2'. The names are fixed: they are not in the registry of
%% user functions, so nobody can replace or remove them.
-module(hornbeam_python_api).

-export([invoke/2]).

-spec invoke(binary(), [term()]) -> {ok, term()} | {error, atom(), binary()}.
invoke(<<"state_get">>, [Key]) -> {ok, hornbeam_state:get(Key)};
invoke(<<"state_set">>, [Key, Value]) -> {ok, hornbeam_state:set(Key, Value)};
invoke(<<"state_delete">>, [Key]) -> {ok, hornbeam_state:delete(Key)};
invoke(<<"state_incr">>, [Key, Delta]) -> counter(Key, Delta);
invoke(<<"state_get_multi">>, [Keys]) when is_list(Keys) -> {ok, hornbeam_state:get_multi(Keys)};
invoke(<<"state_keys">>, [none]) -> {ok, hornbeam_state:keys()};
invoke(<<"state_keys">>, [Prefix]) when is_binary(Prefix) -> {ok, hornbeam_state:keys(Prefix)};
invoke(<<"publish">>, [Topic, Message]) -> {ok, hornbeam_pubsub:publish(Topic, Message)};
invoke(<<"subscribe">>, [Topic, MailboxId]) -> {ok, hornbeam_pubsub:subscribe_mailbox(Topic, MailboxId)};
invoke(<<"rpc_call">>, [Node, Module, Function, Args, Timeout]) when is_list(Args) ->
    {ok, hornbeam_dist:rpc_call(Node, Module, Function, Args, timeout(Timeout))};
invoke(<<"rpc_cast">>, [Node, Module, Function, Args]) when is_list(Args) ->
    {ok, hornbeam_dist:rpc_cast(Node, Module, Function, Args)};
invoke(<<"nodes">>, []) -> {ok, hornbeam_dist:nodes()};
invoke(<<"node">>, []) -> {ok, hornbeam_dist:node()};
invoke(<<"cast">>, [Name, Args]) when is_list(Args) -> py_callbacks:cast(Name, Args);
invoke(<<"cache_get">>, [Prefix, Key]) -> {ok, hornbeam_cache:get(Prefix, Key)};
invoke(<<"cache_put">>, [Prefix, Key, Value, Ttl, Max]) ->
    {ok, hornbeam_cache:put(Prefix, Key, Value, Ttl, Max)};
invoke(<<"cache_stats">>, [Prefix]) -> {ok, hornbeam_cache:stats(Prefix)};
invoke(<<"cache_clear">>, [Prefix]) -> {ok, hornbeam_cache:clear(Prefix)};
invoke(<<"log">>, [Level, Logger, Text]) when is_binary(Logger), is_binary(Text) ->
    case lists:member(Level, [<<"debug">>, <<"info">>, <<"notice">>, <<"warning">>,
                              <<"error">>, <<"critical">>]) of
        true ->
            logger:log(binary_to_atom(Level), "~ts", [Text], #{hornbeam => python, python_logger => Logger}),
            {ok, none};
        false ->
            {error, exception, text("unknown log level ~p", [Level])}
    end;
invoke(Name, Args) ->
    {error, unknown_function,
     text("hornbeam.~ts does not take ~b argument(s) of these types: ~p", [Name, length(Args), Args])}.

counter(Key, Delta) when is_integer(Delta) ->
    try
        {ok, hornbeam_state:incr(Key, Delta)}
    catch
        error:badarg ->
            {error, exception, text("the value under ~p is not an integer", [Key])}
    end;
counter(_Key, Delta) ->
    {error, exception, text("the delta must be an int, not ~p", [Delta])}.

timeout(none) -> infinity;
timeout(Ms) when is_integer(Ms), Ms >= 0 -> Ms;
timeout(Ms) when is_float(Ms), Ms >= 0 -> round(Ms).

text(Format, Args) ->
    unicode:characters_to_binary(io_lib:format(Format, Args)).
