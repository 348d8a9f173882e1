// The checkout page: browse, cart (sign in, estimate, coupon, order) and order views over
// the checkout's HTTP API. The address says which view: /checkout, /checkout/cart/{token},
// /checkout/order/{token}. The demo's bearer token lives in sessionStorage, so it survives
// the trip to the pay page and back in the same tab, and no other.
"use strict";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 120000;
const STORE = { token: "checkout.token", user: "checkout.user", sale: "checkout.sale" };
// Statuses after which the order page stops asking.
const SETTLED = new Set(["completed", "payment_failed", "expired", "cancelled", "refunded",
  "partially_refunded"]);

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, error) {
    super(messageFor(status, error));
    this.status = status;
    this.code = error ? error.code : null;
  }
}

// What a person is told for a refusal: the API's own words, or plainer ones where
// they need to know what to do next.
function messageFor(status, error) {
  if (error) {
    switch (error.code) {
      case 1101: return "We could not find this cart. Choose an internship to start again.";
      case 1102: return "This cart has expired. Choose the internship again to start a new cart.";
      case 1104: return "This cart belongs to someone else. Sign in as its owner, or start a new cart.";
      case 9001: return "Please sign in first.";
      case 9003: return "Your sign-in has expired. Please sign in again.";
      default: {
        const details = (error.validation_messages || []).filter((m) => m !== error.message);
        return [error.message, ...details].join(" ");
      }
    }
  }
  return `Something went wrong (HTTP ${status}). Please try again.`;
}

async function call(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const token = sessionStorage.getItem(STORE.token);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { message: "The shop cannot be reached. Check your connection and try again." });
  }
  let envelope = null;
  try { envelope = await response.json(); } catch { envelope = null; }
  if (!response.ok || !envelope || envelope.success === false) {
    throw new ApiError(response.status, envelope ? envelope.error : null);
  }
  return envelope.data;
}

// Minor units to the currency's own format: 1979600 INR is ₹19,796.00.
function money(minor, currency) {
  const format = new Intl.NumberFormat("en-IN", { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(minor / 10 ** digits);
}

function show(element, text, kind) {
  element.textContent = text;
  element.hidden = !text;
  element.classList.toggle("error", kind === "error");
  element.classList.toggle("success", kind === "success");
}

function showSignedIn() {
  const user = sessionStorage.getItem(STORE.user);
  const badge = $("signed-in-as");
  badge.textContent = user ? `Signed in as ${user}` : "";
  badge.hidden = !user;
  return user;
}

// The browse view: every internship, a period to choose, and "Enroll now".

async function browse() {
  $("browse").hidden = false;
  const sale = new URLSearchParams(location.search).get("sale");
  if (sale) sessionStorage.setItem(STORE.sale, sale);
  let data;
  try {
    data = await call("GET", "/api/v1/internships");
  } catch (error) {
    show($("page-message"), error.message, "error");
    return;
  }
  const list = $("internships");
  list.replaceChildren(...data.internships.map(offeringItem));
}

function offeringItem(offering) {
  const id = offering.internship_id;
  const plan = offering.plans[0];
  const item = document.createElement("li");
  const title = document.createElement("h2");
  title.textContent = offering.title;
  const price = document.createElement("p");
  price.textContent = offering.free
    ? "Free"
    : `${money(plan.unit_price, offering.currency_code)} a ${plan.unit}, before sale prices and tax`;
  const label = document.createElement("label");
  label.htmlFor = `period-${id}`;
  label.textContent = `Length (${plan.unit}s)`;
  const select = document.createElement("select");
  select.id = `period-${id}`;
  for (let value = plan.min_value; value <= plan.max_value; value += 1) {
    select.add(new Option(String(value), String(value)));
  }
  const button = document.createElement("button");
  button.id = `enroll-${id}`;
  button.className = "primary";
  button.type = "button";
  button.textContent = "Enroll now";
  button.setAttribute("aria-label", `Enroll now: ${offering.title}`);
  button.addEventListener("click", () => enroll(button, id, Number(select.value), plan.unit));
  item.append(title, price, label, select, " ", button);
  return item;
}

async function enroll(button, internshipId, value, unit) {
  button.disabled = true;
  const sale = sessionStorage.getItem(STORE.sale);
  try {
    const data = await call("POST", "/api-proxy/api/cart", {
      sale_slug: sale || undefined,
      products: [{ internship_id: internshipId, period: { value, unit } }],
      analytics_data: [{ key: "source", value: "marketplace" }],
    });
    location.assign(`/checkout/cart/${encodeURIComponent(data.cart.cart_token)}`);
  } catch (error) {
    show($("page-message"), error.message, "error");
    button.disabled = false;
  }
}

// Signing in (the demo's own route), shared by the cart and order views.

function offerSignIn(onSignedIn) {
  const section = $("sign-in-section");
  section.hidden = false;
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("sign-in");
    button.disabled = true;
    try {
      const data = await call("POST", "/demo/sign-in", { user_name: $("user-name").value });
      sessionStorage.setItem(STORE.token, data.token);
      sessionStorage.setItem(STORE.user, data.user_id);
      section.hidden = true;
      showSignedIn();
      await onSignedIn();
    } catch (error) {
      const message = error.status === 404
        ? "Sign-in is not offered here: this shop takes tokens from its own identity provider."
        : error.message;
      show($("page-message"), message, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// The cart view: who is buying, the estimate, the coupon and the order.

async function cart(token) {
  $("cart").hidden = false;
  const signIn = async () => {
    await call("POST", `/api/v1/cart/${token}/auth/check`, { cart_token: token });
    $("place-order").disabled = false;
    $("place-order-hint").hidden = true;
    await estimate(token);
  };
  $("coupon-form").addEventListener("submit", (event) => {
    event.preventDefault();
    applyCoupon(token);
  });
  $("remove-coupon").addEventListener("click", () => removeCoupon(token));
  $("place-order").addEventListener("click", () => placeOrder(token));
  try {
    if (showSignedIn()) {
      await signIn();
    } else {
      offerSignIn(() => signIn().catch(cartFailed));
      await estimate(token);
    }
  } catch (error) {
    cartFailed(error);
  }
}

function cartFailed(error) {
  if (error.code === 9003) {
    sessionStorage.removeItem(STORE.token);
    sessionStorage.removeItem(STORE.user);
    showSignedIn();
  }
  show($("cart-message"), error.message, "error");
  if (error.code === 1101 || error.code === 1102 || error.code === 1103) {
    $("place-order").disabled = true;
    $("apply-coupon").disabled = true;
    const again = document.createElement("a");
    again.href = "/checkout";
    again.textContent = "Choose an internship";
    $("cart-message").append(" ", again);
  }
}

async function estimate(token) {
  const data = await call("POST", "/api/v1/cart/estimate", { cart_token: token });
  const currency = data.currency_code;
  $("cart-items").replaceChildren(...data.items.map((line) => {
    const item = document.createElement("li");
    item.textContent = `${line.internship_id}, ${line.period.value} ${line.period.unit}(s): `
      + money(line.total, currency);
    return item;
  }));
  $("estimate-base").textContent = money(data.base_price, currency);
  $("estimate-discount").textContent = data.discount_amount
    ? `−${money(data.discount_amount, currency)} (${data.discount_percentage}%)`
    : money(0, currency);
  $("estimate-subtotal").textContent = money(data.sub_total, currency);
  $("estimate-tax-label").textContent = `Tax (${data.tax_rate}%)`;
  $("estimate-tax").textContent = money(data.tax_total, currency);
  $("estimate-total").textContent = money(data.total, currency);
  $("remove-coupon").hidden = !data.coupon_code;
  return data;
}

async function applyCoupon(token) {
  const button = $("apply-coupon");
  const code = $("coupon").value.trim();
  if (!code) return;
  button.disabled = true;
  try {
    const data = await call("POST", `/api/v1/cart/${token}/coupon`, { coupon: code });
    const currency = data.currency_code;
    show($("coupon-message"), `Coupon ${data.coupon_code} applied: you save `
      + `${money(data.discount_amount, currency)}. New total: ${money(data.new_total, currency)}.`,
    "success");
    await estimate(token);
  } catch (error) {
    show($("coupon-message"), error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function removeCoupon(token) {
  try {
    await call("DELETE", `/api/v1/cart/${token}/coupon`);
    show($("coupon-message"), "Coupon removed.", "success");
    await estimate(token);
  } catch (error) {
    show($("coupon-message"), error.message, "error");
  }
}

async function placeOrder(token) {
  const button = $("place-order");
  button.disabled = true;
  show($("cart-message"), "");
  try {
    // A new key per attempt: a click is a new attempt, a network retry of one is not.
    const data = await call("POST", "/api/v1/order", { cart_token: token },
      { "Idempotency-Key": crypto.randomUUID() });
    const order = data.order;
    if (order.status === "awaiting_payment" && order.checkout_url) {
      location.assign(order.checkout_url);
      return;
    }
    location.assign(`/checkout/order/${encodeURIComponent(order.order_token)}`);
  } catch (error) {
    cartFailed(error);
    button.disabled = error.code === 1101 || error.code === 1102 || error.code === 1103;
  }
}

// The order view: the order's status until it settles, and what to do next.

async function order(token) {
  $("order").hidden = false;
  if (!showSignedIn()) {
    show($("order-message"), "Sign in as the buyer to see this order.", "error");
    offerSignIn(() => followOrder(token));
    return;
  }
  await followOrder(token);
}

async function followOrder(token) {
  show($("order-message"), "");
  const started = Date.now();
  for (;;) {
    let data;
    try {
      data = await call("GET", `/api/v1/order/${encodeURIComponent(token)}`);
    } catch (error) {
      show($("order-message"), error.message, "error");
      return;
    }
    const current = data.order;
    showOrder(current);
    if (SETTLED.has(current.status)) return;
    if (Date.now() - started > POLL_LIMIT_MS) {
      show($("order-message"), "Your payment is still being confirmed. This page will show it "
        + "once it is: refresh it in a minute.", "error");
      return;
    }
    await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
  }
}

const STATUS_WORDS = {
  pending: "being placed",
  awaiting_payment: "waiting for your payment",
  paid: "paid, confirming your enrollment",
  completed: "completed",
  payment_failed: "payment failed",
  expired: "expired",
  cancelled: "cancelled",
  refunded: "refunded",
  partially_refunded: "partly refunded",
};

function showOrder(current) {
  $("order-status").textContent = STATUS_WORDS[current.status] || current.status;
  $("order-total").textContent = `Total ${money(current.total, current.currency)}`;
  const enrollment = (current.enrollment_ids || [])[0];
  $("enrollment").hidden = !enrollment;
  $("enrollment-id").textContent = enrollment || "";
  const payAgain = current.payment && current.payment.checkout_url;
  const retry = $("retry-payment");
  retry.hidden = current.status !== "payment_failed" || !payAgain;
  retry.onclick = () => location.assign(payAgain);
  if (current.status === "payment_failed") {
    show($("order-message"), "Your payment failed and no money was taken. "
      + "You can try paying again.", "error");
  } else if (current.status === "expired" || current.status === "cancelled") {
    show($("order-message"), `This order was ${current.status}. Choose an internship to start again.`,
      "error");
  }
}

function start() {
  const [, page, view, token] = location.pathname.split("/");
  showSignedIn();
  if (page === "checkout" && view === "cart" && token) return cart(decodeURIComponent(token));
  if (page === "checkout" && view === "order" && token) return order(decodeURIComponent(token));
  return browse();
}

start();
