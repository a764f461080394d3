%% Shared by the py* modules.

%% Default for py:call/eval/exec when neither the call nor the `call_timeout`
%% application variable says otherwise (milliseconds).
-define(PY_DEFAULT_TIMEOUT, 30000).

%% ETS table of running contexts (owned by py_registry).
-define(PY_CONTEXTS, py_contexts).

%% ETS table of Erlang functions Python may call (owned by py_callbacks).
-define(PY_FUNCTIONS, py_functions).
