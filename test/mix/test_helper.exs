ExUnit.start(timeout: 600_000)
