# trust-proxy verify: requests with its defaults (certifi, or REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE).
import sys

try:
    import requests
except ImportError as error:
    print("TP-NOT-INSTALLED", error)
    sys.exit(0)
print("TP-VERSION requests", requests.__version__, flush=True)
url, timeout = sys.argv[1], float(sys.argv[2])
with requests.get(url, timeout=timeout, stream=True) as answer:
    print("TP-HTTP-STATUS", answer.status_code)
