%% @doc Hornbeam's front door: serve a Python WSGI or ASGI application.
%%
%% ```
%% ok = hornbeam:start("app:application", #{bind => "127.0.0.1:8000", workers => 4}),
%% ...
%% ok = hornbeam:stop().
%% '''
%%
%% Every option is described, with its type and default, in docs/configuration.md.
-module(hornbeam).

-export([start/1, start/2, stop/0, stop/1, info/0, info/1,
         register_function/2, register_function/3, unregister_function/1]).
-export_type([app_spec/0, options/0]).

%% "module:callable", or "module" for `module:application'.
-type app_spec() :: string() | binary().
-type text() :: string() | binary().
-type ms() :: pos_integer() | infinity.
%% The options of `start/2'; docs/configuration.md says what each does, and its
%% default. Any other key, or a value of another type, is `{invalid_option, Key, Value}'.
-type options() :: #{
    name => atom(),
    bind => text() | {inet:ip_address(), inet:port_number()},
    backlog => pos_integer(),
    worker_class => wsgi | asgi | hface,
    lifespan => auto | on | off,
    workers => 1..256,
    python_mode => auto | subinterp | main,
    timeout => ms(),
    body_read_timeout => ms(),
    keepalive => non_neg_integer(),
    max_requests => non_neg_integer(),
    preload_app => boolean(),
    pythonpath => [file:filename_all()],
    venv => file:filename_all() | undefined,
    python_home => file:filename_all() | undefined,
    root_path => text(),
    forwarded_allow_ips => text() | [text()],
    max_request_line_size => pos_integer(),
    max_header_size => pos_integer(),
    max_headers => pos_integer(),
    max_body_size => non_neg_integer() | infinity,
    graceful_timeout => non_neg_integer(),
    access_log => boolean(),
    http_version => [atom() | text()],
    http3_port => inet:port_number() | undefined,
    max_concurrent_streams => 1..2147483647,
    websocket_max_frame_size => pos_integer(),
    websocket_timeout => ms(),
    websocket_compression => boolean(),
    ssl => boolean(),
    certfile => file:filename_all() | undefined,
    keyfile => file:filename_all() | undefined,
    cacertfile => file:filename_all() | undefined
}.

%% @doc Serves `AppSpec' ("module:callable", or "module" for `application') with the
%% default options.
-spec start(app_spec()) -> ok | {error, term()}.
start(AppSpec) ->
    start(AppSpec, #{}).

%% @doc Serves `AppSpec'. Returns once the server accepts connections, or
%% `{error, Reason}': `{invalid_option, Key, Value}', `{invalid_app_spec, Spec}',
%% `{app_import_failed, Traceback}', `{callable_not_found, Spec}',
%% `{eaddrinuse, Bind}', `{already_started, Name}', `{missing_ssl_option, Key}'.
-spec start(app_spec(), options()) -> ok | {error, term()}.
start(AppSpec, Opts) ->
    maybe_started(fun() ->
        case hornbeam_config:parse(AppSpec, Opts) of
            {ok, Config} -> hornbeam_server_sup:start_server(Config);
            {error, _} = Error -> Error
        end
    end).

%% @doc Makes `Fun' callable from Python as `hornbeam_erlang.call(Name, *args)';
%% it gets the arguments as one list. Names starting with "hornbeam." are reserved.
-spec register_function(atom() | binary() | string(), fun(([term()]) -> term())) -> ok | {error, term()}.
register_function(Name, Fun) ->
    maybe_started(fun() -> py_callbacks:register(Name, Fun) end).

%% @doc As `register_function/2', running `Module:Function(Args)'.
-spec register_function(atom() | binary() | string(), module(), atom()) -> ok | {error, term()}.
register_function(Name, Module, Function) ->
    maybe_started(fun() -> py_callbacks:register(Name, {Module, Function}) end).

-spec unregister_function(atom() | binary() | string()) -> ok.
unregister_function(Name) ->
    py_callbacks:unregister(Name).

%% @doc Stops the server named `hornbeam'.
-spec stop() -> ok | {error, not_found}.
stop() ->
    stop(hornbeam).

%% @doc Stops accepting, lets requests in progress finish (up to `graceful_timeout'),
%% closes the remaining connections and ends the application's interpreters.
-spec stop(atom()) -> ok | {error, not_found}.
stop(Name) ->
    hornbeam_server_sup:stop_server(Name).

-spec info() -> map() | {error, not_found | {engine_info_failed, term()}}.
info() ->
    info(hornbeam).

%% @doc `#{bind, port, mode, workers, connections, accepted, requests}' of a running
%% server; `port' is the bound one (useful with port 0).
-spec info(atom()) -> map() | {error, not_found | {engine_info_failed, term()}}.
info(Name) ->
    case whereis(hornbeam_server_sup) =/= undefined andalso hornbeam_server_sup:find(Name) of
        {ok, Pid} -> hornbeam_server:info(Pid);
        _ -> {error, not_found}
    end.

%% Runs `Fun' once the application is up, or says why it could not start.
maybe_started(Fun) ->
    case ensure_started() of
        ok -> Fun();
        {error, _} = Error -> Error
    end.

ensure_started() ->
    case application:ensure_all_started(hornbeam) of
        {ok, _} -> ok;
        {error, Reason} -> {error, {hornbeam_not_started, Reason}}
    end.
