# Hornbeam as a Mix dependency: `{:hornbeam, path: "..."}` (or git). The Erlang
# sources compile with Mix's Erlang compiler; the NIF with the compiler below. The
# application's metadata is read from src/hornbeam.app.src, its only source.

defmodule Mix.Tasks.Compile.HornbeamNif do
  @moduledoc "Builds the Hornbeam NIF with cargo into priv/py_nif.so (native/build-nif)."
  use Mix.Task.Compiler

  @root Path.expand(".", __DIR__)

  @impl Mix.Task.Compiler
  def run(_args) do
    script = Path.join(@root, "native/build-nif")

    case System.cmd("bash", [script], stderr_to_stdout: true, into: IO.stream(:stdio, :line)) do
      {_, 0} -> {:ok, []}
      {_, status} -> Mix.raise("#{script} failed with exit status #{status}")
    end
  end
end

defmodule Hornbeam.MixProject do
  use Mix.Project

  {:ok, [{:application, :hornbeam, props}]} =
    :file.consult(Path.join(__DIR__, "src/hornbeam.app.src"))

  @app_props props

  def project do
    [
      app: :hornbeam,
      version: to_string(@app_props[:vsn]),
      language: :erlang,
      erlc_paths: ["src"],
      erlc_include_path: "include",
      erlc_options: [:debug_info],
      compilers: [:hornbeam_nif | Mix.compilers()],
      test_paths: ["test/mix"],
      deps: []
    ]
  end

  def application do
    [
      mod: @app_props[:mod],
      env: @app_props[:env],
      registered: @app_props[:registered],
      extra_applications: [:logger]
    ]
  end
end
