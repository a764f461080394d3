wrk.method = "POST"
wrk.body = '{"username":"bench","age":30,"tags":["a","b"]}'
wrk.headers["Content-Type"] = "application/json"
