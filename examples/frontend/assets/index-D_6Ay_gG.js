const status = document.getElementById("status");
fetch("/api/health")
  .then((r) => (r.ok ? "The API is up." : `The API answered ${r.status}.`))
  .catch(() => "The API is not reachable from here.")
  .then((text) => {
    status.textContent = text;
  });
