%% @doc The cache behind `hornbeam_ml.cached_inference': results shared by every
%% interpreter, grouped by prefix, each prefix with hit/miss counters, an optional
%% time to live per entry and an optional bound on entries (the oldest go first).
%%
%% Lookups read ETS directly. Inserts go through this process, so counting and
%% evicting never race; they happen on misses only, when the caller has just spent
%% far longer computing the value.
-module(hornbeam_cache).
-behaviour(gen_server).

-export([start_link/0, get/2, put/5, stats/1, clear/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% {{Prefix, Key}, Value, ExpiresAt (ms, or infinity), Seq}
-define(ENTRIES, hornbeam_cache).
%% {{Prefix, Seq}, Key}: insertion order, for eviction.
-define(ORDER, hornbeam_cache_order).
%% {{Prefix, hits | misses | size}, N}
-define(COUNTERS, hornbeam_cache_counters).

-spec start_link() -> {ok, pid()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc `{ok, Value}' or `miss'; counts the hit or the miss.
-spec get(binary(), term()) -> {ok, term()} | miss.
get(Prefix, Key) ->
    Now = erlang:monotonic_time(millisecond),
    case ets:lookup(?ENTRIES, {Prefix, Key}) of
        [{_, Value, Expires, _}] when Expires =:= infinity; Expires > Now ->
            count(Prefix, hits),
            {ok, Value};
        _ ->
            count(Prefix, misses),
            miss
    end.

%% @doc Stores `Value'; `TtlMs' and `MaxEntries' may be `none' (no limit).
-spec put(binary(), term(), term(), pos_integer() | none, pos_integer() | none) -> ok.
put(Prefix, Key, Value, TtlMs, MaxEntries) ->
    gen_server:call(?MODULE, {put, Prefix, Key, Value, TtlMs, MaxEntries}).

%% @doc `#{hits, misses, hit_rate, size}' of one prefix.
-spec stats(binary()) -> map().
stats(Prefix) ->
    Hits = counter(Prefix, hits),
    Misses = counter(Prefix, misses),
    Rate = case Hits + Misses of 0 -> 0.0; Total -> Hits / Total end,
    #{hits => Hits, misses => Misses, hit_rate => Rate, size => counter(Prefix, size)}.

%% @doc Forgets a prefix's entries and counters.
-spec clear(binary()) -> ok.
clear(Prefix) ->
    gen_server:call(?MODULE, {clear, Prefix}).

count(Prefix, Which) ->
    ets:update_counter(?COUNTERS, {Prefix, Which}, 1, {{Prefix, Which}, 0}).

counter(Prefix, Which) ->
    case ets:lookup(?COUNTERS, {Prefix, Which}) of
        [{_, N}] -> N;
        [] -> 0
    end.

init([]) ->
    Public = [named_table, public, {read_concurrency, true}, {write_concurrency, true}],
    ?ENTRIES = ets:new(?ENTRIES, [set | Public]),
    ?ORDER = ets:new(?ORDER, [ordered_set, named_table, protected]),
    ?COUNTERS = ets:new(?COUNTERS, [set | Public]),
    {ok, 0}.

handle_call({put, Prefix, Key, Value, Ttl, Max}, _From, Seq) ->
    Expires = case Ttl of
                  none -> infinity;
                  _ -> erlang:monotonic_time(millisecond) + Ttl
              end,
    _ = case ets:lookup(?ENTRIES, {Prefix, Key}) of
        [{_, _, _, Old}] -> ets:delete(?ORDER, {Prefix, Old});
        [] -> ets:update_counter(?COUNTERS, {Prefix, size}, 1, {{Prefix, size}, 0})
    end,
    ets:insert(?ENTRIES, {{Prefix, Key}, Value, Expires, Seq}),
    ets:insert(?ORDER, {{Prefix, Seq}, Key}),
    evict(Prefix, Max),
    {reply, ok, Seq + 1};
handle_call({clear, Prefix}, _From, Seq) ->
    ets:match_delete(?ENTRIES, {{Prefix, '_'}, '_', '_', '_'}),
    ets:match_delete(?ORDER, {{Prefix, '_'}, '_'}),
    ets:match_delete(?COUNTERS, {{Prefix, '_'}, '_'}),
    {reply, ok, Seq};
handle_call(Request, _From, Seq) ->
    hornbeam_unexpected:call(?MODULE, Request, Seq).

handle_cast(Message, Seq) ->
    hornbeam_unexpected:cast(?MODULE, Message, Seq).

%% Drops the prefix's oldest entries while it holds more than Max.
evict(_Prefix, none) ->
    ok;
evict(Prefix, Max) ->
    case counter(Prefix, size) > Max of
        false -> ok;
        true ->
            case ets:next(?ORDER, {Prefix, -1}) of
                {Prefix, _} = Oldest ->
                    [{_, Key}] = ets:lookup(?ORDER, Oldest),
                    ets:delete(?ORDER, Oldest),
                    ets:delete(?ENTRIES, {Prefix, Key}),
                    ets:update_counter(?COUNTERS, {Prefix, size}, -1),
                    evict(Prefix, Max);
                _ ->
                    ok
            end
    end.

handle_info(Message, Seq) ->
    hornbeam_unexpected:info(?MODULE, Message, Seq).
