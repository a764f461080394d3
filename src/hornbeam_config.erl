%% @doc Validates `hornbeam:start/2''s application spec and options, and turns them
%% into what `hornbeam_server' and the NIF take. Every option, its type and default is
%% in docs/configuration.md; an option not listed there is an error.
-module(hornbeam_config).

-export([parse/2, defaults/0, bind_text/1]).

-type bind() :: {inet:ip_address(), inet:port_number()}.
-export_type([bind/0]).

%% @doc The defaults of every option.
-spec defaults() -> map().
defaults() ->
    #{name => hornbeam,
      bind => "127.0.0.1:8000",
      backlog => 1024,
      worker_class => wsgi,
      lifespan => auto,
      workers => 1,
      python_mode => auto,
      timeout => 30000,
      body_read_timeout => 30000,
      keepalive => 5,
      max_requests => 0,
      preload_app => true,
      pythonpath => [],
      venv => undefined,
      python_home => undefined,
      root_path => "",
      forwarded_allow_ips => ["127.0.0.1", "::1"],
      max_request_line_size => 8190,
      max_header_size => 65536,
      max_headers => 100,
      max_body_size => infinity,
      graceful_timeout => 30000,
      access_log => false,
      http_version => ['HTTP/1.1', 'HTTP/2'],
      http3_port => undefined,
      max_concurrent_streams => 100,
      websocket_max_frame_size => 16777216,
      websocket_timeout => infinity,
      websocket_compression => false,
      ssl => false,
      certfile => undefined,
      keyfile => undefined,
      cacertfile => undefined}.

%% @doc `{ok, Config}' or `{error, Reason}', Reason one of `{invalid_option, Key,
%% Value}', `{invalid_app_spec, Spec}', `{missing_ssl_option, Key}',
%% `{http3_needs_tls, Why}', `{not_implemented, What}'.
-spec parse(string() | binary(), map()) -> {ok, map()} | {error, term()}.
parse(AppSpec, Opts) when is_map(Opts) ->
    try
        {Module, Callable} = app_spec(AppSpec),
        Merged = maps:fold(fun validate/3, defaults(), Opts),
        check_combinations(Merged),
        check_http3(Merged),
        {ok, Merged#{app_spec => {Module, Callable}}}
    catch
        throw:Reason -> {error, Reason}
    end;
parse(_AppSpec, Opts) ->
    {error, {invalid_option, options, Opts}}.

%% "module:callable", or "module" for `application' (PEP 3333's customary name).
app_spec(Spec) when is_binary(Spec) -> app_spec(unicode:characters_to_list(Spec));
app_spec(Spec) when is_list(Spec) ->
    case io_lib:printable_unicode_list(Spec) andalso string:split(Spec, ":") of
        [Module] -> {valid_name(Spec, Module), "application"};
        [Module, Callable] -> {valid_name(Spec, Module), valid_name(Spec, Callable)};
        _ -> throw({invalid_app_spec, Spec})
    end;
app_spec(Spec) ->
    throw({invalid_app_spec, Spec}).

%% A dotted Python name.
valid_name(Spec, Name) ->
    Parts = string:split(Name, ".", all),
    case Name =/= "" andalso lists:all(fun is_identifier/1, Parts) of
        true -> Name;
        false -> throw({invalid_app_spec, Spec})
    end.

is_identifier([C | Rest]) when C =:= $_; C >= $a, C =< $z; C >= $A, C =< $Z; C > 127 ->
    lists:all(fun(Ch) -> Ch =:= $_ orelse (Ch >= $a andalso Ch =< $z) orelse (Ch >= $A andalso Ch =< $Z)
                             orelse (Ch >= $0 andalso Ch =< $9) orelse Ch > 127 end, Rest);
is_identifier(_) -> false.

validate(name, V, Acc) when is_atom(V) -> Acc#{name => V};
validate(bind, V, Acc) -> Acc#{bind => parse_bind(V)};
validate(backlog, V, Acc) when is_integer(V), V > 0 -> Acc#{backlog => V};
validate(worker_class, V, Acc) when V =:= wsgi; V =:= asgi; V =:= hface -> Acc#{worker_class => V};
validate(lifespan, V, Acc) when V =:= auto; V =:= on; V =:= off -> Acc#{lifespan => V};
validate(workers, V, Acc) when is_integer(V), V > 0, V =< 256 -> Acc#{workers => V};
validate(python_mode, V, Acc) when V =:= auto; V =:= subinterp; V =:= main -> Acc#{python_mode => V};
validate(timeout, infinity, Acc) -> Acc#{timeout => infinity};
validate(timeout, V, Acc) when is_integer(V), V > 0 -> Acc#{timeout => V};
validate(body_read_timeout, infinity, Acc) -> Acc#{body_read_timeout => infinity};
validate(body_read_timeout, V, Acc) when is_integer(V), V > 0 -> Acc#{body_read_timeout => V};
validate(keepalive, V, Acc) when is_integer(V), V >= 0 -> Acc#{keepalive => V};
validate(max_requests, V, Acc) when is_integer(V), V >= 0 -> Acc#{max_requests => V};
validate(preload_app, V, Acc) when is_boolean(V) -> Acc#{preload_app => V};
validate(K, V, Acc) when K =:= pythonpath; K =:= venv; K =:= python_home ->
    maps:merge(Acc, py_interp_opts:validate(K, V, #{}));
validate(root_path, V, Acc) -> Acc#{root_path => root_path(V)};
validate(forwarded_allow_ips, V, Acc) -> Acc#{forwarded_allow_ips => trusted_ips(V)};
validate(K, V, Acc) when (K =:= max_request_line_size orelse K =:= max_header_size
                          orelse K =:= max_headers), is_integer(V), V > 0 -> Acc#{K => V};
validate(max_body_size, infinity, Acc) -> Acc#{max_body_size => infinity};
validate(max_body_size, V, Acc) when is_integer(V), V >= 0 -> Acc#{max_body_size => V};
validate(graceful_timeout, V, Acc) when is_integer(V), V >= 0 -> Acc#{graceful_timeout => V};
validate(access_log, V, Acc) when is_boolean(V) -> Acc#{access_log => V};
validate(http_version, V, Acc) -> Acc#{http_version => http_versions(V)};
validate(http3_port, undefined, Acc) -> Acc#{http3_port => undefined};
validate(http3_port, V, Acc) when is_integer(V), V >= 0, V =< 65535 -> Acc#{http3_port => V};
validate(max_concurrent_streams, V, Acc) when is_integer(V), V > 0, V < 16#80000000 ->
    Acc#{max_concurrent_streams => V};
validate(websocket_max_frame_size, V, Acc) when is_integer(V), V > 0 -> Acc#{websocket_max_frame_size => V};
validate(websocket_timeout, infinity, Acc) -> Acc#{websocket_timeout => infinity};
validate(websocket_timeout, V, Acc) when is_integer(V), V > 0 -> Acc#{websocket_timeout => V};
validate(websocket_compression, V, Acc) when is_boolean(V) -> Acc#{websocket_compression => V};
validate(ssl, V, Acc) when is_boolean(V) -> Acc#{ssl => V};
validate(K, undefined, Acc) when K =:= certfile; K =:= keyfile; K =:= cacertfile -> Acc#{K => undefined};
validate(K, V, Acc) when K =:= certfile; K =:= keyfile; K =:= cacertfile ->
    is_text(V) orelse throw({invalid_option, K, V}),
    Acc#{K => V};
validate(Key, Value, _Acc) ->
    throw({invalid_option, Key, Value}).

check_combinations(#{ssl := true, certfile := undefined}) ->
    throw({missing_ssl_option, certfile});
check_combinations(#{ssl := true, keyfile := undefined}) ->
    throw({missing_ssl_option, keyfile});
%% ASGI applications load at start: lifespan startup runs there.
check_combinations(#{worker_class := asgi, preload_app := false}) ->
    throw({invalid_option, preload_app, false});
%% hface handlers run on the ASGI workers' loops, which load the handler at start.
check_combinations(#{worker_class := hface, preload_app := false}) ->
    throw({invalid_option, preload_app, false});
check_combinations(#{max_request_line_size := Line, max_header_size := Header}) when Line + Header > 16#FFFFFF ->
    throw({invalid_option, max_header_size, Header});
check_combinations(_) ->
    ok.

check_http3(#{ssl := false, http_version := Versions}) ->
    case lists:member('HTTP/3', Versions) of
        true -> throw({http3_needs_tls, "HTTP/3 runs over QUIC, which is always encrypted: "
                                        "set ssl => true with certfile and keyfile"});
        false -> ok
    end;
check_http3(_) ->
    ok.

%% A non-empty list of 'HTTP/1.1', 'HTTP/2' and 'HTTP/3' (atoms, strings or binaries).
http_versions(V) when is_list(V), V =/= [] ->
    Versions = [http_version(E, V) || E <- V],
    lists:usort(Versions);
http_versions(V) ->
    throw({invalid_option, http_version, V}).

http_version(E, _All) when E =:= 'HTTP/1.1'; E =:= "HTTP/1.1"; E =:= <<"HTTP/1.1">> -> 'HTTP/1.1';
http_version(E, _All) when E =:= 'HTTP/2'; E =:= "HTTP/2"; E =:= <<"HTTP/2">> -> 'HTTP/2';
http_version(E, _All) when E =:= 'HTTP/3'; E =:= "HTTP/3"; E =:= <<"HTTP/3">> -> 'HTTP/3';
http_version(_E, All) -> throw({invalid_option, http_version, All}).

%% "127.0.0.1:8000", "[::1]:8000", "localhost:8000", or {Ip, Port}.
parse_bind({Ip, Port} = V) when is_tuple(Ip), is_integer(Port) ->
    case inet:ntoa(Ip) of
        {error, _} -> throw({invalid_option, bind, V});
        _ when Port >= 0, Port =< 65535 -> V;
        _ -> throw({invalid_option, bind, V})
    end;
parse_bind(V) when is_binary(V) -> parse_bind_text(V, unicode:characters_to_list(V));
parse_bind(V) when is_list(V) -> parse_bind_text(V, V);
parse_bind(V) -> throw({invalid_option, bind, V}).

parse_bind_text(Orig, Text) ->
    {Host, PortText} =
        case Text of
            "[" ++ Rest ->
                case string:split(Rest, "]:") of
                    [H, P] -> {H, P};
                    _ -> throw({invalid_option, bind, Orig})
                end;
            _ ->
                case string:split(Text, ":", trailing) of
                    [H, P] -> {H, P};
                    _ -> throw({invalid_option, bind, Orig})
                end
        end,
    Port = try list_to_integer(PortText) catch error:badarg -> throw({invalid_option, bind, Orig}) end,
    (Port >= 0 andalso Port =< 65535) orelse throw({invalid_option, bind, Orig}),
    Ip = case inet:parse_address(Host) of
             {ok, Addr} -> Addr;
             {error, _} ->
                 case inet:getaddr(Host, inet) of
                     {ok, Addr} -> Addr;
                     {error, _} -> throw({invalid_option, bind, Orig})
                 end
         end,
    {Ip, Port}.

%% @doc "127.0.0.1:8000" or "[::1]:8000".
-spec bind_text(bind()) -> string().
bind_text({Ip, Port}) when tuple_size(Ip) =:= 8 -> "[" ++ inet:ntoa(Ip) ++ "]:" ++ integer_to_list(Port);
bind_text({Ip, Port}) -> inet:ntoa(Ip) ++ ":" ++ integer_to_list(Port).

root_path(V) when is_binary(V) -> root_path(unicode:characters_to_list(V));
root_path("") -> "";
root_path("/" ++ _ = V) ->
    case lists:last(V) of
        $/ -> throw({invalid_option, root_path, V});
        _ -> V
    end;
root_path(V) -> throw({invalid_option, root_path, V}).

%% "*", "127.0.0.1,10.0.0.0/8", or a list of addresses and networks.
trusted_ips("*") -> ["*"];
trusted_ips(<<"*">>) -> ["*"];
trusted_ips(V) when is_binary(V) -> trusted_ips(unicode:characters_to_list(V));
trusted_ips([C | _] = V) when is_integer(C) ->
    trusted_ips([string:trim(S) || S <- string:split(V, ",", all), string:trim(S) =/= ""]);
trusted_ips(V) when is_list(V) ->
    [trusted_ip(V, E) || E <- V];
trusted_ips(V) -> throw({invalid_option, forwarded_allow_ips, V}).

trusted_ip(All, E) when is_binary(E) -> trusted_ip(All, unicode:characters_to_list(E));
trusted_ip(_All, "*") -> "*";
trusted_ip(All, E) when is_list(E) ->
    {Host, Prefix} = case string:split(E, "/") of
                         [H] -> {H, none};
                         [H, P] -> {H, P}
                     end,
    Max = case inet:parse_address(Host) of
              {ok, {_, _, _, _}} -> 32;
              {ok, _} -> 128;
              {error, _} -> throw({invalid_option, forwarded_allow_ips, All})
          end,
    case Prefix =:= none orelse string:to_integer(Prefix) of
        true -> E;
        {N, ""} when N >= 0, N =< Max -> E;
        _ -> throw({invalid_option, forwarded_allow_ips, All})
    end;
trusted_ip(All, _) -> throw({invalid_option, forwarded_allow_ips, All}).

is_text(V) when is_binary(V) -> true;
is_text(V) when is_list(V) -> io_lib:printable_unicode_list(V);
is_text(_) -> false.
