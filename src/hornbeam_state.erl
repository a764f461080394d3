%% @doc Shared state: one public ETS table that Erlang code and every Python
%% interpreter (`hornbeam_erlang.state_*') read and write. Keys and values are any
%% terms; from Python, a `str' key is a binary (`<<"views">>'). This process only
%% owns the table: reads and writes go to ETS directly, from any process.
-module(hornbeam_state).
-behaviour(gen_server).

-export([start_link/0, get/1, get/2, set/2, delete/1, incr/1, incr/2, decr/2,
         get_multi/1, keys/0, keys/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(TABLE, ?MODULE).

-spec start_link() -> {ok, pid()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc The value under `Key', or `undefined'.
-spec get(term()) -> term().
get(Key) ->
    get(Key, undefined).

-spec get(term(), term()) -> term().
get(Key, Default) ->
    case ets:lookup(?TABLE, Key) of
        [{_, Value}] -> Value;
        [] -> Default
    end.

-spec set(term(), term()) -> ok.
set(Key, Value) ->
    true = ets:insert(?TABLE, {Key, Value}),
    ok.

-spec delete(term()) -> ok.
delete(Key) ->
    true = ets:delete(?TABLE, Key),
    ok.

-spec incr(term()) -> integer().
incr(Key) ->
    incr(Key, 1).

%% @doc Adds `Delta' atomically (a missing key counts from 0); the new value.
%% Raises `badarg' when the value is not an integer.
-spec incr(term(), integer()) -> integer().
incr(Key, Delta) when is_integer(Delta) ->
    ets:update_counter(?TABLE, Key, Delta, {Key, 0}).

-spec decr(term(), integer()) -> integer().
decr(Key, Delta) when is_integer(Delta) ->
    incr(Key, -Delta).

%% @doc The keys of `Keys' that are present, with their values.
-spec get_multi([term()]) -> #{term() => term()}.
get_multi(Keys) ->
    maps:from_list([{Key, Value} || Key <- Keys, {_, Value} <- ets:lookup(?TABLE, Key)]).

-spec keys() -> [term()].
keys() ->
    ets:select(?TABLE, [{{'$1', '_'}, [], ['$1']}]).

%% @doc The binary keys starting with `Prefix' (a Python `str' prefix).
-spec keys(binary()) -> [binary()].
keys(Prefix) when is_binary(Prefix) ->
    Size = byte_size(Prefix),
    ets:foldl(fun({<<P:Size/binary, _/binary>> = Key, _}, Acc) when P =:= Prefix -> [Key | Acc];
                 (_, Acc) -> Acc
              end, [], ?TABLE).

init([]) ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set,
                              {read_concurrency, true}, {write_concurrency, true}]),
    {ok, #{}}.

handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).
