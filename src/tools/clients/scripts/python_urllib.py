# trust-proxy verify: Python's own TLS as every urllib caller gets it (ssl.create_default_context).
import sys

print("TP-VERSION python", sys.version.split()[0], flush=True)
import ssl
import urllib.error
import urllib.request

url, timeout = sys.argv[1], float(sys.argv[2])
context = ssl.create_default_context()
try:
    with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
        status = answer.status
except urllib.error.HTTPError as error:
    # An HTTP error status came over the verified connection.
    status = error.code
print("TP-HTTP-STATUS", status)
