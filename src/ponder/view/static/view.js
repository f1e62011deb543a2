/* An element with data-poll is replaced by the fragment at that URL every 2 s while the
   fragment holds an element marked data-running (a run in progress); ticked boxes stay ticked. */
function poll(el) {
  setTimeout(async () => {
    try {
      const res = await fetch(el.dataset.poll, {cache: "no-store"});
      if (res.ok) {
        const ticked = new Set([...el.querySelectorAll("input:checked")].map((i) => i.value));
        el.innerHTML = await res.text();
        el.querySelectorAll("input[type=checkbox]").forEach((i) => { i.checked = ticked.has(i.value); });
      }
    } catch (e) {}
    if (el.querySelector("[data-running]")) poll(el);
  }, 2000);
}
document.querySelectorAll("[data-poll]").forEach((el) => { if (el.querySelector("[data-running]")) poll(el); });
