%% @doc Options every interpreter takes, whether it serves `py' calls (`py_context')
%% or a reactor (`py_reactor_context'): `mode', `pythonpath', `venv', `python_home'.
-module(py_interp_opts).

-export([defaults/0, validate/3, locations/1]).

%% @doc Defaults from the `hornbeam' application environment.
-spec defaults() -> map().
defaults() ->
    #{mode => application:get_env(hornbeam, context_mode, subinterp),
      pythonpath => application:get_env(hornbeam, pythonpath, []),
      venv => application:get_env(hornbeam, venv, undefined),
      python_home => application:get_env(hornbeam, python_home, undefined)}.

%% @doc Folds one option into `Acc'; throws `{invalid_option, Key, Value}' for a bad
%% value or a key that is not one of these.
-spec validate(atom(), term(), map()) -> map().
validate(mode, M, Acc) when M =:= subinterp; M =:= main -> Acc#{mode => M};
validate(pythonpath, Dirs, Acc) when is_list(Dirs) ->
    case lists:all(fun is_path/1, Dirs) of
        true -> Acc#{pythonpath => Dirs};
        false -> throw({invalid_option, pythonpath, Dirs})
    end;
validate(venv, undefined, Acc) -> Acc#{venv => undefined};
validate(venv, Dir, Acc) ->
    is_path(Dir) orelse throw({invalid_option, venv, Dir}),
    filelib:is_dir(Dir) orelse throw({invalid_option, venv, Dir}),
    Acc#{venv => Dir};
validate(python_home, undefined, Acc) -> Acc#{python_home => undefined};
validate(python_home, Home, Acc) ->
    is_path(Home) orelse throw({invalid_option, python_home, Home}),
    Acc#{python_home => Home};
validate(Key, Value, _Acc) ->
    throw({invalid_option, Key, Value}).

%% @doc `{Paths, SiteDirs, Home}' as the NIF takes them: the bundled packages'
%% directory first, then `pythonpath'; the venv's site-packages; `python_home' or
%% `undefined'.
-spec locations(map()) -> {[binary()], [binary()], binary() | undefined}.
locations(Opts) ->
    Paths = [bin(python_dir()) | [bin(D) || D <- maps:get(pythonpath, Opts)]],
    SiteDirs = site_dirs(maps:get(venv, Opts)),
    Home = case maps:get(python_home, Opts) of undefined -> undefined; H -> bin(H) end,
    {Paths, SiteDirs, Home}.

is_path(P) when is_binary(P) -> true;
is_path(P) when is_list(P) -> io_lib:printable_unicode_list(P);
is_path(_) -> false.

%% The directory holding the `erlang' package and the other bundled Python packages.
python_dir() ->
    filename:join(code:priv_dir(hornbeam), "python").

%% A venv's site-packages (lib/pythonX.Y/site-packages), added with site.addsitedir.
site_dirs(undefined) -> [];
site_dirs(Venv) ->
    [bin(D) || D <- filelib:wildcard(filename:join([Venv, "lib", "python*", "site-packages"]))].

bin(B) when is_binary(B) -> B;
bin(L) when is_list(L) -> unicode:characters_to_binary(L).
