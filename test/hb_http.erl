%% Helpers the HTTP suites share: starting a server on a free port, clients (httpc,
%% raw sockets), log events forwarded to the test process, the test venv.
-module(hb_http).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([log/2, capture_logs/1, begin_case/2, end_case/2, with_info_logs/1, serve/4, url/2, request/3, request/5, get/2, raw/2,
         read_until_closed/2, read_response/1, content_length/1, status_of/1, header/2,
         data_file/3, expect_log/1, wait_until/1, root_dir/1, venv/1, python/0]).

%% Runs Fun with `info' events let through the primary logger level (access lines and
%% notes such as lifespan being unsupported are info events).
with_info_logs(Fun) ->
    #{level := Primary} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, all),
    try Fun()
    after logger:set_primary_config(level, Primary)
    end.

capture_logs(Case) ->
    ok = logger:add_handler(Case, ?MODULE, #{config => #{pid => self()}, level => all}).

%% init_per_testcase of the HTTP suites: the case's log events come to the test
%% process, and its name is in Config (servers are named after it).
begin_case(Case, Config) ->
    capture_logs(Case),
    [{case_name, Case} | Config].

%% end_per_testcase of the HTTP suites: stops capturing and stops `Servers'.
end_case(Case, Servers) ->
    logger:remove_handler(Case),
    [hornbeam:stop(Name) || Name <- Servers],
    ok.

%% A logger handler that forwards the HTTP servers' log events to the test process.
log(#{meta := #{hornbeam := _}, msg := Msg} = Event, #{config := #{pid := Pid}}) ->
    Text = case Msg of
               {Format, Args} when is_list(Format) -> lists:flatten(io_lib:format(Format, Args));
               {string, S} -> unicode:characters_to_list(S);
               _ -> ""
           end,
    Pid ! {hornbeam_log, maps:get(level, Event), Text};
log(_Event, _Config) ->
    ok.

%% Starts a server named `Name' on a free port; returns the port.
serve(Config, Name, App, Extra) ->
    Opts = maps:merge(#{name => Name, bind => "127.0.0.1:0",
                        pythonpath => [?config(data_dir, Config)]}, Extra),
    ok = hornbeam:start(App, Opts),
    #{port := Port} = hornbeam:info(Name),
    Port.

url(Port, Path) ->
    "http://127.0.0.1:" ++ integer_to_list(Port) ++ Path.

%% {Status, Headers, Body} from httpc, redirects not followed.
request(Method, Port, Path) ->
    request(Method, Port, Path, [], undefined).

request(Method, Port, Path, Headers, Body) ->
    Req = case Body of
              undefined -> {url(Port, Path), Headers};
              {Type, Data} -> {url(Port, Path), Headers, Type, Data}
          end,
    {ok, {{_, Status, _}, RespHeaders, RespBody}} =
        httpc:request(Method, Req, [{autoredirect, false}, {timeout, 30000}], [{body_format, binary}]),
    {Status, RespHeaders, RespBody}.

get(Port, Path) -> request(get, Port, Path).


%% Sends raw bytes, reads until the server closes; fails if it does not within 10 s.
raw(Port, Bytes) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, Bytes),
    read_until_closed(S, <<>>).

read_until_closed(S, Acc) ->
    case gen_tcp:recv(S, 0, 10000) of
        {ok, Data} -> read_until_closed(S, <<Acc/binary, Data/binary>>);
        {error, closed} -> Acc;
        {error, Reason} -> ct:fail({connection_not_closed, Reason, Acc})
    end.

%% Reads one response (head + Content-Length body) from an open socket.
read_response(S) ->
    read_response(S, <<>>).

read_response(S, Acc) ->
    case binary:split(Acc, <<"\r\n\r\n">>) of
        [Head, Rest] ->
            Length = content_length(Head),
            case byte_size(Rest) >= Length of
                true ->
                    <<Body:Length/binary, Extra/binary>> = Rest,
                    {Head, Body, Extra};
                false ->
                    {ok, More} = gen_tcp:recv(S, 0, 10000),
                    read_response(S, <<Acc/binary, More/binary>>)
            end;
        [_] ->
            {ok, More} = gen_tcp:recv(S, 0, 10000),
            read_response(S, <<Acc/binary, More/binary>>)
    end.

content_length(Head) ->
    case re:run(Head, "(?i)content-length: *([0-9]+)", [{capture, all_but_first, list}]) of
        {match, [N]} -> list_to_integer(N);
        nomatch -> 0
    end.

status_of(Response) ->
    <<"HTTP/1.", _, " ", Code:3/binary, _/binary>> = Response,
    binary_to_integer(Code).

header(Name, Headers) ->
    proplists:get_value(Name, Headers).

data_file(Config, Name, Bytes) ->
    Path = filename:join(?config(priv_dir, Config), Name),
    ok = file:write_file(Path, Bytes),
    Path.

%% A log event whose text contains `Needle', within 5 s.
expect_log(Needle) ->
    receive
        {hornbeam_log, _Level, Text} = Event ->
            case string:find(Text, Needle) of
                nomatch -> expect_log(Needle);
                _ -> Event
            end
    after 5000 -> ct:fail({no_log_event, Needle})
    end.

wait_until(Check) ->
    wait_until(Check, 500).

wait_until(Check, 0) ->
    ?assert(Check());
wait_until(Check, N) ->
    case Check() of
        true -> ok;
        false ->
            receive after 10 -> ok end,
            wait_until(Check, N - 1)
    end.

%% The repository's root: data_dir is <root>/_build/test/lib/hornbeam/test/...
root_dir(Config) ->
    [Root | _] = string:split(?config(data_dir, Config), "/_build/"),
    Root.

venv(Config) ->
    Venv = filename:join(root_dir(Config), ".venv"),
    filelib:is_dir(Venv) orelse ct:fail({no_test_venv, Venv, "run make test (or make venv)"}),
    Venv.

%% The Python Hornbeam embeds: http.client is in its standard library.
python() ->
    binary_to_list(maps:get(executable, py_nif:python_info())).
