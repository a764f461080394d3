defmodule Hornbeam.MixProjectTest do
  # A Mix project that depends on Hornbeam by path compiles it (the NIF through
  # mix.exs's compile step, no hex) and calls Python from Elixir.
  use ExUnit.Case, async: false

  @hornbeam_root Path.expand("../..", __DIR__)

  test "this project's own Mix build runs Python" do
    assert {:ok, 1.4142135623730951} = :py.call(:math, :sqrt, [2.0])
    assert {:ok, "a/b"} = :py.call(:"os.path", :join, ["a", "b"])
  end

  @tag :tmp_dir
  test "a Mix project depending on hornbeam by path calls :py.call/3", %{tmp_dir: tmp} do
    File.write!(Path.join(tmp, "mix.exs"), """
    defmodule Demo.MixProject do
      use Mix.Project

      def project do
        [app: :demo, version: "0.1.0", deps: [{:hornbeam, path: #{inspect(@hornbeam_root)}}]]
      end

      def application, do: [extra_applications: [:logger]]
    end
    """)

    File.mkdir_p!(Path.join(tmp, "lib"))

    File.write!(Path.join(tmp, "lib/demo.ex"), """
    defmodule Demo do
      def hypot(a, b), do: :py.call(:math, :hypot, [a, b])
    end
    """)

    # The dependency must build the NIF itself: take away the one already built.
    # (Unlinking it is safe for this VM, which keeps its mapping.)
    nif = Path.join(@hornbeam_root, "priv/py_nif.so")
    File.rm!(nif)

    script = ~S"""
    {:ok, h} = Demo.hypot(3.0, 4.0)
    {:error, {:python, :ZeroDivisionError, _, _}} = :py.eval("1/0")
    IO.puts("HYPOT=#{h}")
    """

    {out, status} =
      System.cmd("mix", ["run", "-e", script],
        cd: tmp,
        stderr_to_stdout: true,
        env: [{"MIX_ENV", "dev"}, {"MIX_BUILD_ROOT", nil}]
      )

    assert status == 0, out
    assert out =~ "HYPOT=5.0"
    # The dependency's compile step (mix.exs) rebuilt the NIF.
    assert File.exists?(nif)
  end
end
