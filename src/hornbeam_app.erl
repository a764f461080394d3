-module(hornbeam_app).
-behaviour(application).

-export([start/2, stop/1]).

%% The `servers' environment key lists `{AppSpec, Opts}' pairs started with the
%% application (a release's sys.config, or `make run'); one that cannot start stops
%% the application with its reason.
-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_Type, _Args) ->
    {ok, Sup} = hornbeam_sup:start_link(),
    case start_servers(application:get_env(hornbeam, servers, [])) of
        ok -> {ok, Sup};
        {error, _} = Error -> Error
    end.

-spec stop(term()) -> ok.
stop(_State) ->
    ok.

start_servers([]) ->
    ok;
start_servers([{AppSpec, Opts} | Rest]) ->
    case hornbeam_config:parse(AppSpec, Opts) of
        {ok, Config} ->
            case hornbeam_server_sup:start_server(Config) of
                ok -> start_servers(Rest);
                {error, Reason} -> {error, {server_not_started, AppSpec, Reason}}
            end;
        {error, Reason} ->
            {error, {server_not_started, AppSpec, Reason}}
    end;
start_servers(Other) ->
    {error, {invalid_option, servers, Other}}.
