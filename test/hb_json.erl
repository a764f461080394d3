%% A small JSON encoder/decoder for the test suites (OTP 25 has no `json' module and
%% hex.pm is out of reach). Objects are maps with binary keys, strings are binaries,
%% arrays are lists, and true/false/null are atoms.
-module(hb_json).

-export([decode/1, encode/1]).

-spec decode(binary()) -> term().
decode(Bin) ->
    {Value, Rest} = value(skip(Bin)),
    <<>> = skip(Rest),
    Value.

value(<<${, R/binary>>) -> object(skip(R), #{});
value(<<$[, R/binary>>) -> array(skip(R), []);
value(<<$", R/binary>>) -> string(R, <<>>);
value(<<"true", R/binary>>) -> {true, R};
value(<<"false", R/binary>>) -> {false, R};
value(<<"null", R/binary>>) -> {null, R};
value(Bin) -> number(Bin).

object(<<$}, R/binary>>, Acc) -> {Acc, R};
object(<<$", R/binary>>, Acc) ->
    {Key, R1} = string(R, <<>>),
    <<$:, R2/binary>> = skip(R1),
    {Value, R3} = value(skip(R2)),
    case skip(R3) of
        <<$,, R4/binary>> -> object(skip(R4), Acc#{Key => Value});
        <<$}, R4/binary>> -> {Acc#{Key => Value}, R4}
    end.

array(<<$], R/binary>>, Acc) -> {lists:reverse(Acc), R};
array(Bin, Acc) ->
    {Value, R1} = value(Bin),
    case skip(R1) of
        <<$,, R2/binary>> -> array(skip(R2), [Value | Acc]);
        <<$], R2/binary>> -> {lists:reverse([Value | Acc]), R2}
    end.

string(<<$", R/binary>>, Acc) -> {Acc, R};
string(<<$\\, $u, Hex:4/binary, R/binary>>, Acc) ->
    case binary_to_integer(Hex, 16) of
        High when High >= 16#D800, High =< 16#DBFF ->
            <<$\\, $u, Hex2:4/binary, R2/binary>> = R,
            Low = binary_to_integer(Hex2, 16),
            Code = 16#10000 + ((High - 16#D800) bsl 10) + (Low - 16#DC00),
            string(R2, <<Acc/binary, Code/utf8>>);
        Code ->
            string(R, <<Acc/binary, Code/utf8>>)
    end;
string(<<$\\, C, R/binary>>, Acc) ->
    Char = case C of $n -> $\n; $t -> $\t; $r -> $\r; $b -> $\b; $f -> $\f; _ -> C end,
    string(R, <<Acc/binary, Char>>);
string(<<C, R/binary>>, Acc) -> string(R, <<Acc/binary, C>>).

number(Bin) ->
    {match, [Text]} = re:run(Bin, "^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?", [{capture, first, binary}]),
    Rest = binary:part(Bin, byte_size(Text), byte_size(Bin) - byte_size(Text)),
    Value = try binary_to_integer(Text)
            catch error:badarg ->
                Fixed = case binary:match(Text, <<".">>) of
                            nomatch -> re:replace(Text, "[eE]", ".0e", [{return, binary}]);
                            _ -> Text
                        end,
                binary_to_float(Fixed)
            end,
    {Value, Rest}.

skip(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> skip(R);
skip(Bin) -> Bin.

-spec encode(term()) -> binary().
encode(Term) -> iolist_to_binary(enc(Term)).

enc(true) -> <<"true">>;
enc(false) -> <<"false">>;
enc(null) -> <<"null">>;
enc(N) when is_integer(N) -> integer_to_binary(N);
enc(F) when is_float(F) -> float_to_binary(F, [short]);
enc(B) when is_binary(B) -> [$", escape(B), $"];
enc(A) when is_atom(A) -> enc(atom_to_binary(A));
enc(L) when is_list(L) -> [$[, lists:join($,, [enc(E) || E <- L]), $]];
enc(M) when is_map(M) ->
    [${, lists:join($,, [[enc(K), $:, enc(V)] || {K, V} <- maps:to_list(M)]), $}].

escape(B) ->
    << <<(case C of
              $" -> <<"\\\"">>;
              $\\ -> <<"\\\\">>;
              $\n -> <<"\\n">>;
              _ when C < 32 -> list_to_binary(io_lib:format("\\u~4.16.0b", [C]));
              _ -> <<C>>
          end)/binary>> || <<C>> <= B >>.
