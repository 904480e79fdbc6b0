#!/bin/sh
# The example backend: busybox httpd serving /app/www on port 8080.
exec /bin/busybox httpd -f -p 8080 -h /app/www
