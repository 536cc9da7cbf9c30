// simrelay panel: copy buttons, and live status badges on the SMS log. The pages work without
// it; this only saves a reload.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  navigator.clipboard.writeText(field.value).then(() => { button.textContent = "✓"; });
});

const table = document.querySelector("table[data-live]");
if (table) {
  const final = new Set(["3", "4", "5"]);
  const rows = [...table.querySelectorAll("tr[data-id]")];
  const open = rows.filter((row) => !final.has(row.querySelector("[data-status]").dataset.status));
  if (open.length) {
    const ids = open.map((row) => row.dataset.id).join(",");
    const source = new EventSource(`${table.dataset.live}?ids=${ids}`);
    source.addEventListener("status", (event) => {
      const change = JSON.parse(event.data);
      const badge = table.querySelector(`tr[data-id="${change.id}"] [data-status]`);
      if (!badge) return;
      badge.dataset.status = String(change.status);
      badge.className = `badge s${change.status}`;
      badge.textContent = change.text;
    });
    source.addEventListener("done", () => source.close());
  }
}
