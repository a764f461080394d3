%% @doc Hornbeam's front door: serve a Python WSGI application.
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

%% @doc Serves `AppSpec' ("module:callable", or "module" for `application') with the
%% default options.
-spec start(string() | binary()) -> ok | {error, term()}.
start(AppSpec) ->
    start(AppSpec, #{}).

%% @doc Serves `AppSpec'. Returns once the server accepts connections, or
%% `{error, Reason}': `{invalid_option, Key, Value}', `{invalid_app_spec, Spec}',
%% `{app_import_failed, Traceback}', `{callable_not_found, Spec}',
%% `{eaddrinuse, Bind}', `{already_started, Name}', `{missing_ssl_option, Key}'.
-spec start(string() | binary(), map()) -> ok | {error, term()}.
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
    maybe_started(fun() -> hornbeam_callbacks:register_function(Name, Fun) end).

%% @doc As `register_function/2', running `Module:Function(Args)'.
-spec register_function(atom() | binary() | string(), module(), atom()) -> ok | {error, term()}.
register_function(Name, Module, Function) ->
    maybe_started(fun() -> hornbeam_callbacks:register_function(Name, Module, Function) end).

-spec unregister_function(atom() | binary() | string()) -> ok.
unregister_function(Name) ->
    hornbeam_callbacks:unregister_function(Name).

%% @doc Stops the server named `hornbeam'.
-spec stop() -> ok | {error, not_found}.
stop() ->
    stop(hornbeam).

%% @doc Stops accepting, lets requests in progress finish (up to `graceful_timeout'),
%% closes the remaining connections and ends the application's interpreters.
-spec stop(atom()) -> ok | {error, not_found}.
stop(Name) ->
    hornbeam_server_sup:stop_server(Name).

-spec info() -> map() | {error, not_found}.
info() ->
    info(hornbeam).

%% @doc `#{bind, port, mode, workers, connections, accepted, requests}' of a running
%% server; `port' is the bound one (useful with port 0).
-spec info(atom()) -> map() | {error, not_found}.
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
