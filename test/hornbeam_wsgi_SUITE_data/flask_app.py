"""A real Flask application for hornbeam_wsgi_SUITE.

Not wrapped in wsgiref.validate like the other apps: Werkzeug itself calls
`wsgi.input.read()` without a size (allowed since `wsgi.input_terminated`), which the
validator rejects.
"""
from flask import Flask, Response, jsonify, redirect, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask"


@app.get("/items/<int:item_id>")
def item(item_id):
    return jsonify(id=item_id, q=request.args.get("q"))


@app.post("/json")
def echo_json():
    data = request.get_json()
    data["seen"] = True
    return jsonify(data), 201


@app.post("/form")
def form():
    return f"name={request.form['name']}"


@app.post("/upload")
def upload():
    uploaded = request.files["file"]
    return jsonify(filename=uploaded.filename, size=len(uploaded.read()))


@app.get("/stream")
def stream():
    def generate():
        for i in range(3):
            yield f"line {i}\n"
    return Response(generate(), mimetype="text/plain")


@app.get("/go")
def go():
    return redirect("/")


@app.get("/fail")
def fail():
    raise RuntimeError("flask view failed")
