// simrelay panel: the copy buttons next to secrets shown once. Everything else that saves a
// reload is htmx, declared in the templates; the pages work without either.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  navigator.clipboard.writeText(field.value).then(() => { button.textContent = "✓"; });
});
