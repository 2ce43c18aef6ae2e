// Tiny Shop: a single-page app with a cart, coupons and checkout. BUILD is set by the server.
const COUPONS = { SAVE10: { discount: 10 }, HALF: { discount: 50 } };
const CART = [{ sku: "mug", name: "Mug", price: 12 }, { sku: "tee", name: "T-shirt", price: 30 }];

function subtotal() {
  return CART.reduce((sum, item) => sum + item.price, 0);
}

function renderHome(view) {
  view.innerHTML = `
    <h1>Tiny Shop</h1>
    <ul>${CART.map((i) => `<li>${i.name}: $${i.price}</li>`).join("")}</ul>
    <a href="/cart" data-link data-testid="go-to-cart">Go to cart</a>`;
}

function renderCart(view) {
  view.innerHTML = `
    <h1>Your cart</h1>
    <p>Subtotal: $<span data-testid="subtotal">${subtotal()}</span></p>
    <label>Coupon code <input data-testid="coupon-code" name="coupon" placeholder="e.g. SAVE10"></label>
    <button data-testid="apply-coupon">Apply coupon</button>
    <p class="message" data-testid="coupon-message"></p>
    <p class="total">Total: $<span data-testid="total">${subtotal()}</span></p>
    <button data-testid="place-order">Place order</button>
    <p data-testid="order-status"></p>`;
  let applied = null;
  view.querySelector("[data-testid=apply-coupon]").addEventListener("click", () => {
    const code = view.querySelector("[data-testid=coupon-code]").value.trim().toUpperCase();
    const coupon = COUPONS[code];
    if (BUILD === "fixed" && coupon === undefined) {
      view.querySelector("[data-testid=coupon-message]").textContent = "Unknown coupon";
      return;
    }
    // The buggy build trusts the lookup: an unknown or empty code throws a TypeError here.
    const total = subtotal() * (1 - coupon.discount / 100);
    applied = code;
    view.querySelector("[data-testid=total]").textContent = String(total);
    view.querySelector("[data-testid=coupon-message]").textContent = `Coupon ${code} applied`;
  });
  view.querySelector("[data-testid=place-order]").addEventListener("click", async () => {
    const status = view.querySelector("[data-testid=order-status]");
    const response = await fetch("/api/orders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: CART.map((i) => i.sku), coupon: applied }),
    });
    status.textContent = response.ok ? "Order placed" : `Order failed (${response.status})`;
  });
}

async function renderOrder(view, id) {
  const response = await fetch(`/api/orders/${encodeURIComponent(id)}`);
  if (!response.ok) {
    view.innerHTML = `<h1>Order not found</h1>`;
    return;
  }
  const order = await response.json();
  view.innerHTML = `<h1>Order ${order.id}</h1><p data-testid="order-total">Total: $${order.total}</p>`;
}

function render() {
  const view = document.getElementById("view");
  const path = location.pathname;
  if (path === "/cart") renderCart(view);
  else if (path.startsWith("/orders/")) renderOrder(view, path.slice("/orders/".length));
  else renderHome(view);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link) return;
  event.preventDefault();
  history.pushState({}, "", link.getAttribute("href"));
  render();
});
window.addEventListener("popstate", render);
render();
