import json

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("Hello from Django")


def item(request, item_id):
    return JsonResponse({"id": item_id, "q": request.GET.get("q"), "path": request.path,
                         "script_name": request.META.get("SCRIPT_NAME")})


@csrf_exempt
def echo_json(request):
    data = json.loads(request.body)
    data["seen"] = True
    return JsonResponse(data, status=201)


def stream(request):
    return StreamingHttpResponse((f"part {i}\n" for i in range(3)), content_type="text/plain")
