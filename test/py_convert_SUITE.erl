%% Term conversion, both ways, through a real interpreter: PropEr round-trip
%% properties plus the documented special cases (docs/term-conversion.md).
-module(py_convert_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").

-compile([export_all, nowarn_export_all]).

-define(NUMTESTS, 500).

all() ->
    [prop_terms_round_trip, prop_bytes_round_trip, prop_big_integers, prop_floats,
     special_atoms, atoms_become_str_subclass, binaries_and_bytes, python_types_arrive,
     map_keys_of_any_type, map_keys_equal_in_python, python_values_to_erlang].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, Ctx} = py_context:start(#{pythonpath => [data_dir(Config)]}),
    [{ctx, Ctx} | Config].

end_per_suite(Config) ->
    py_context:stop(?config(ctx, Config)),
    application:stop(hornbeam).

%% helpers.py lives with py_SUITE.
data_dir(Config) ->
    filename:join(filename:dirname(filename:dirname(?config(data_dir, Config))), "py_SUITE_data").

identity(Config, Term) ->
    py:call(?config(ctx, Config), helpers, identity, [Term]).

check(Property) ->
    ?assert(proper:quickcheck(Property, [{numtests, ?NUMTESTS}, {to_file, user}, long_result])).

%%% Properties

prop_terms_round_trip(Config) ->
    check(?FORALL(T, any_term(), identity(Config, T) =:= {ok, normalise(T)})).

prop_bytes_round_trip(Config) ->
    check(?FORALL(B, binary(), identity(Config, {bytes, B}) =:= {ok, {bytes, B}})).

prop_big_integers(Config) ->
    check(?FORALL({I, Shift}, {integer(), range(0, 2000)},
                  begin
                      Big = I bsl Shift,
                      identity(Config, Big) =:= {ok, Big}
                          andalso py:eval(?config(ctx, Config), <<"v * 3">>, #{v => Big}) =:= {ok, Big * 3}
                  end)).

prop_floats(Config) ->
    check(?FORALL(F, float(), identity(Config, F) =:= {ok, F})).

%% The generator: every convertible kind, nested. Map keys avoid atoms and floats,
%% which can equal other keys in Python (map_keys_equal_in_python covers that).
any_term() ->
    ?SIZED(Size, any_term(Size)).

any_term(0) -> leaf();
any_term(Size) ->
    Smaller = any_term(Size div 3),
    frequency([{3, leaf()},
               {1, list(Smaller)},
               {1, ?LET(L, list(Smaller), list_to_tuple(L))},
               {1, map_of(key(Size div 3), Smaller)}]).

leaf() ->
    oneof([integer(), float(), bool(), plain_atom(), utf8_binary(), binary(),
           oneof([undefined, nil, none, infinity, neg_infinity, nan]),
           ?LAZY(self()), ?LAZY(make_ref()), {bytes, binary()}]).

%% PropEr 1.2 (Debian's) has no map generator.
map_of(Key, Value) ->
    ?LET(Pairs, list({Key, Value}), maps:from_list(Pairs)).

key(0) -> key_leaf();
key(Size) ->
    Smaller = key(Size div 3),
    frequency([{4, key_leaf()},
               {1, list(Smaller)},
               {1, ?LET(L, list(Smaller), list_to_tuple(L))},
               {1, map_of(Smaller, any_term(Size div 3))}]).

key_leaf() ->
    oneof([integer(), utf8_binary(), ?LAZY(make_ref()), ?LAZY(self())]).

plain_atom() ->
    ?LET(Chars, non_empty(list(oneof([range($a, $z), range($A, $Z), $_, 16#e9, 16#3bb]))),
         binary_to_atom(unicode:characters_to_binary(Chars), utf8)).

utf8_binary() ->
    ?LET(Chars, list(oneof([range(32, 126), range(16#a0, 16#7ff), range(16#4e00, 16#4eff)])),
         unicode:characters_to_binary(Chars)).

%% What a term becomes after Erlang -> Python -> Erlang.
normalise(undefined) -> none;
normalise(nil) -> none;
normalise(B) when is_binary(B) ->
    case unicode:characters_to_binary(B) of
        B -> B;
        _ -> {bytes, B}   % not UTF-8: it was bytes in Python
    end;
normalise({bytes, B}) when is_binary(B) -> {bytes, B};
normalise(L) when is_list(L) -> [normalise(E) || E <- L];
normalise(T) when is_tuple(T) -> list_to_tuple([normalise(E) || E <- tuple_to_list(T)]);
normalise(M) when is_map(M) -> maps:from_list([{normalise(K), normalise(V)} || {K, V} <- maps:to_list(M)]);
normalise(T) -> T.

%%% The table's special cases

special_atoms(Config) ->
    Ctx = ?config(ctx, Config),
    ?assertEqual({ok, [<<"bool">>, <<"bool">>, <<"NoneType">>, <<"NoneType">>, <<"NoneType">>]},
                 py:call(Ctx, helpers, types_of, [true, false, undefined, none, nil])),
    ?assertEqual({ok, <<"inf -inf nan">>},
                 py:eval(Ctx, <<"' '.join(str(v) for v in (a, b, c))">>,
                         #{a => infinity, b => neg_infinity, c => nan})),
    ?assertEqual({ok, [infinity, neg_infinity, nan]},
                 py:eval(Ctx, <<"[float('inf'), float('-inf'), float('nan')]">>)),
    ?assertEqual({ok, none}, py:eval(Ctx, <<"None">>)).

atoms_become_str_subclass(Config) ->
    Ctx = ?config(ctx, Config),
    ?assertEqual({ok, true}, py:eval(Ctx, <<"isinstance(a, str) and a == 'hello' and type(a).__name__ == 'Atom'">>,
                                     #{a => hello})),
    ?assertEqual({ok, hello}, identity(Config, hello)),
    ?assertEqual({ok, <<"hello">>}, py:eval(Ctx, <<"str(a)">>, #{a => hello})),
    ?assertEqual({ok, made_in_python}, py:eval(Ctx, <<"__import__('erlang').atom('made_in_python')">>)),
    ?assertEqual({error, atom_too_long}, py:eval(Ctx, <<"__import__('erlang').atom('x' * 300)">>)).

binaries_and_bytes(Config) ->
    Ctx = ?config(ctx, Config),
    ?assertEqual({ok, [<<"str">>, <<"bytes">>, <<"bytes">>]},
                 py:call(Ctx, helpers, types_of, [<<"text é"/utf8>>, <<255, 0>>, {bytes, <<"text">>}])),
    ?assertEqual({ok, {bytes, <<"abc">>}}, py:eval(Ctx, <<"b'abc'">>)),
    ?assertEqual({ok, {bytes, <<"abc">>}}, py:eval(Ctx, <<"bytearray(b'abc')">>)),
    ?assertEqual({ok, <<"é"/utf8>>}, py:eval(Ctx, <<"'\\u00e9'">>)),
    %% A bitstring that is not whole bytes has no Python form.
    ?assertEqual({error, {badarg, {unconvertible, <<"bitstring">>}}}, identity(Config, <<1:3>>)),
    ?assertEqual({error, {unconvertible, <<"str with lone surrogates">>}}, py:eval(Ctx, <<"'\\ud800'">>)).

python_types_arrive(Config) ->
    Ctx = ?config(ctx, Config),
    ?assertEqual({ok, [<<"int">>, <<"float">>, <<"list">>, <<"tuple">>, <<"dict">>, <<"int">>]},
                 py:call(Ctx, helpers, types_of, [1, 1.5, [1], {1}, #{}, 1 bsl 100])).

map_keys_of_any_type(Config) ->
    Map = #{a => 1, [1, 2] => list, #{k => v} => map, {1, [2]} => tuple, <<"b">> => 2,
            1.5 => float, self() => pid},
    ?assertEqual({ok, Map}, identity(Config, Map)),
    ?assertEqual({ok, <<"ListKey">>},
                 py:eval(?config(ctx, Config), <<"type(next(iter(m))).__name__">>, #{m => #{[1] => x}})).

map_keys_equal_in_python(Config) ->
    ?assertEqual({error, {badarg, {unconvertible, <<"map with keys that are equal in Python">>}}},
                 identity(Config, #{a => 1, <<"a">> => 2})),
    ?assertEqual({error, {badarg, {unconvertible, <<"map with keys that are equal in Python">>}}},
                 identity(Config, #{1 => int, 1.0 => float})).

python_values_to_erlang(Config) ->
    Ctx = ?config(ctx, Config),
    ?assertEqual({ok, #{<<"k">> => [1, {2, 3}], 4 => none}}, py:eval(Ctx, <<"{'k': [1, (2, 3)], 4: None}">>)),
    ?assertEqual({ok, -(1 bsl 200)}, py:eval(Ctx, <<"-(2 ** 200)">>)),
    ?assertEqual({ok, {}}, py:eval(Ctx, <<"()">>)),
    ?assertEqual({ok, true}, py:eval(Ctx, <<"True">>)),
    ?assertEqual({error, {unconvertible, <<"object">>}}, py:eval(Ctx, <<"object()">>)).
