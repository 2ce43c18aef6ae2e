// Tiny Shop's pages that need state: an account behind a sign-in, a basket behind a flag, an
// Enter-only search, and a shipping form with a <select>. BUILD is set by the server.

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

function text(view, selector, value) {
  view.querySelector(selector).textContent = value;
}

function renderLogin(view) {
  view.innerHTML = `
    <h1>Sign in</h1>
    <form id="login-form">
      <label>Email <input id="email" name="email" type="email"></label>
      <label>Password <input id="password" name="password" type="password"></label>
      <button type="submit">Sign in</button>
    </form>
    <p id="login-message"></p>`;
  view.querySelector("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: view.querySelector("#email").value,
        password: view.querySelector("#password").value,
      }),
    });
    if (response.ok) location.assign("/account");
    else text(view, "#login-message", "Wrong email or password");
  });
}

async function renderAccount(view) {
  const response = await fetch("/api/account");
  if (response.status === 401) {
    location.assign("/login");
    return;
  }
  const account = await response.json();
  view.innerHTML = `
    <h1>Hello ${account.name}</h1>
    <button id="show-orders" class="btn">Show orders</button>
    <p id="orders"></p>`;
  view.querySelector("#show-orders").addEventListener("click", () => {
    // The buggy build assumes every account has an order list; a new one has none (null).
    const count = BUILD === "fixed" ? (account.orders || []).length : account.orders.length;
    text(view, "#orders", count ? `${count} orders` : "No orders yet");
  });
}

function renderBasket(view) {
  const items = [{ name: "Mug", price: 12 }, { name: "T-shirt", price: 30 }];
  const newBasket = cookie("flag_new-basket") === "true";
  view.innerHTML = `
    <h1>Basket</h1>
    <ul>${items.map((i) => `<li>${i.name}</li>`).join("")}</ul>
    <button id="checkout" class="btn">Check out</button>
    <p id="basket-total"></p>`;
  view.querySelector("#checkout").addEventListener("click", () => {
    let total = items.reduce((sum, i) => sum + i.price, 0);
    if (newBasket) {
      // The new basket reads a discount that only the fixed build defaults.
      const promo = BUILD === "fixed" ? window.promo || { rate: 0 } : window.promo;
      total = total * (1 - promo.rate);
    }
    text(view, "#basket-total", `Total: $${total}`);
  });
}

function renderSearch(view) {
  view.innerHTML = `
    <h1>Search</h1>
    <input id="q" name="q" placeholder="Search products">
    <ul id="results"></ul>`;
  const input = view.querySelector("#q");
  input.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter") return; // no button: Enter sends the search
    const response = await fetch(`/api/search?q=${encodeURIComponent(input.value)}`);
    const results = await response.json();
    view.querySelector("#results").innerHTML = results
      .map((r) => {
        // The buggy build assumes every product has a price; "price on request" ones have null.
        const price = BUILD === "fixed" && r.price === null ? "price on request" : r.price.toFixed(2);
        return `<li>${r.name}: ${price}</li>`;
      })
      .join("");
  });
}

function renderShipping(view) {
  view.innerHTML = `
    <h1>Shipping</h1>
    <label>Country
      <select id="country" name="country">
        <option value="">Choose a country</option>
        <option value="US">United States</option>
        <option value="DE">Germany</option>
        <option value="NO">Norway</option>
      </select>
    </label>
    <button id="quote" class="btn">Get a quote</button>
    <p id="quote-result"></p>`;
  view.querySelector("#quote").addEventListener("click", async () => {
    const country = view.querySelector("#country").value;
    const response = await fetch(`/api/shipping?country=${encodeURIComponent(country)}`);
    if (response.status >= 500) throw new Error(`Shipping quote failed with ${response.status}`);
    text(view, "#quote-result", response.ok ? `Shipping: $${(await response.json()).rate}` : "Choose a country");
  });
}

const STATE_PAGES = {
  "/login": renderLogin,
  "/account": renderAccount,
  "/basket": renderBasket,
  "/search": renderSearch,
  "/shipping": renderShipping,
};
STATE_PAGES[location.pathname](document.getElementById("view"));
