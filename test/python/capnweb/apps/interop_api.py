"""The API the interop tests serve to Node clients: standalone, and inside Hornbeam as
`interop_api:app`."""

import datetime

import capnweb
from capnweb import BigInt, RpcTarget


class Counter(RpcTarget):
    def __init__(self, value=0):
        self._value = value

    async def increment(self, amount=1):
        self._value += amount
        return self._value

    def incremented(self, amount):
        self._value += amount
        return self

    @property
    def value(self):
        return self._value


class InteropApi(RpcTarget):
    class_data = "not reachable"

    def __init__(self, user=None):
        self.instance_field = "not reachable"
        self._user = user

    async def hello(self, name):
        return f"Hello, {name}!"

    def authenticate(self, token):
        return {"id": "u_1", "name": "Alice", "token": token}

    async def get_user_profile(self, user_id):
        return {"id": user_id, "bio": "Developer"}

    def get_notifications(self, user_id):
        return [f"Welcome, {user_id}!", "You have 3 new messages"]

    def users(self):
        return [{"id": "u_1", "name": "Alice"}, {"id": "u_2", "name": "Bob"}]

    def numbers(self):
        return [1, 2, 3, 4]

    def square(self, x):
        return x * x

    def make_counter(self, initial=0):
        return Counter(initial)

    async def increment_counter(self, counter, amount=1):
        return await counter.increment(amount)

    async def call_back(self, callback, x):
        return await callback(x)

    async def greet_with(self, greeter, name):
        return await greeter.greet(name)

    def boom(self, detail):
        raise ValueError(f"the {detail} is wrong")

    def echo(self, value):
        return value

    def describe(self, value):
        """The Python type each field of `value` arrived as."""
        return {key: type(item).__name__ for key, item in value.items()}

    def python_values(self):
        return {
            "big": 2**70,
            "small_big": BigInt(5),
            "date": datetime.datetime(2025, 6, 8, 0, 22, 50, 815000, tzinfo=datetime.UTC),
            "bytes": b"\x00\x01\xfe",
            "tuple": (1, "two"),
            "inf": float("inf"),
            "ninf": float("-inf"),
            "nan": float("nan"),
            "undef": capnweb.undefined,
        }

    def whoami(self):
        return self._user

    def _secret(self):
        return "leaked"


def redact(error):
    if "password" in str(error).lower():
        return Exception("Sensitive information redacted")
    return error


def make_api(connection):
    return InteropApi(connection.headers.get("authorization"))


app = capnweb.asgi_app(make_api, capnweb.RpcSessionOptions(on_send_error=redact))
