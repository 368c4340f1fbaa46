# trust-proxy verify: httpx with its defaults (certifi, or SSL_CERT_FILE / SSL_CERT_DIR).
import sys

try:
    import httpx
except ImportError as error:
    print("TP-NOT-INSTALLED", error)
    sys.exit(0)
print("TP-VERSION httpx", httpx.__version__, flush=True)
url, timeout = sys.argv[1], float(sys.argv[2])
with httpx.stream("GET", url, timeout=timeout) as answer:
    print("TP-HTTP-STATUS", answer.status_code)
