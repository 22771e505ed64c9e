// Paying for an order: a PaymentIntent from the shop, then either Stripe's Payment Element
// (a real publishable key and Stripe.js reachable) or, in the offline lab, the test-mode
// button that has the shop confirm the intent with Stripe's test card. Either way the order
// only becomes "paid" when Stripe's webhook reaches the shop, so the page polls the order.
import { api } from './api.js';
import { orderSummary, payable } from './orders.js';
import {
  announce, formatPrice, h, showError, statusBadge, whileBusy,
} from './ui.js';

const STRIPE_JS = 'https://js.stripe.com/v3/';
const STRIPE_LOAD_TIMEOUT_MS = 8000;
// Real Stripe keys are long; lab placeholders such as "pk_test_shoplab" are not, and trying
// to load Stripe.js for them would only fail (no internet) with an error in the console.
const REAL_PUBLISHABLE_KEY = /^pk_(test|live)_[0-9A-Za-z]{24,}$/;
// The webhook normally lands within a second; give it 30 s before saying "not yet".
const POLL_INTERVAL_MS = 1000;
const POLL_ATTEMPTS = 30;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export async function payView(screen, { id }) {
  const order = await api.order(id);
  const title = `Pay for order #${order.id}`;
  if (!payable(order)) {
    screen.render(title, h('h1', {}, title), orderSummary(order),
      h('p', {}, `This order is ${order.status}; there is nothing to pay.`),
      h('p', {}, h('a', { href: `#/orders/${order.id}` }, 'View the order')));
    return;
  }
  const [config, intent] = await Promise.all([
    api.paymentConfig(), api.createIntent(Number(order.id)),
  ]);
  const method = h('section', { class: 'payment', 'aria-labelledby': 'payment-heading' },
    h('h2', { id: 'payment-heading' }, 'Payment'),
    h('p', { class: 'muted' }, 'Preparing the payment form…'));
  const outcome = h('div', { class: 'payment-outcome', id: 'payment-outcome' });
  const summary = orderSummary(order);
  screen.render(title, h('h1', {}, title), summary, method, outcome);

  const payment = { screen, order, summary, method, outcome };
  let stripeProblem = '';
  if (REAL_PUBLISHABLE_KEY.test(config.publishable_key || '')) {
    try {
      const Stripe = await loadStripeJs();
      if (screen.current) stripeForm(payment, method, Stripe(config.publishable_key), intent);
      return;
    } catch {
      stripeProblem = 'Stripe’s card form could not be loaded';
    }
  }
  if (!screen.current) return;
  if (config.test_mode) testModeForm(payment, method, stripeProblem);
  else {
    method.replaceChildren(h('h2', { id: 'payment-heading' }, 'Payment'),
      h('p', {}, stripeProblem || 'Card payments are not available right now',
        '. Your order is saved: you can pay for it later from your order history.'));
  }
}

// Stripe.js is loaded only when it is going to be used.
function loadStripeJs() {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  return new Promise((resolve, reject) => {
    const script = h('script', { src: STRIPE_JS, async: true });
    const fail = (why) => {
      clearTimeout(timer);
      script.remove();  // a later visit tries again with a fresh tag
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('Stripe.js timed out'), STRIPE_LOAD_TIMEOUT_MS);
    script.addEventListener('load', () => {
      clearTimeout(timer);
      if (window.Stripe) resolve(window.Stripe);
      else fail('Stripe.js loaded without Stripe');
    });
    script.addEventListener('error', () => fail('Stripe.js did not load'));
    document.head.append(script);
  });
}

function stripeForm(payment, method, stripe, intent) {
  const elements = stripe.elements({ clientSecret: intent.client_secret });
  const mount = h('div', { id: 'payment-element' });
  const button = h('button', { type: 'submit', class: 'primary' }, `Pay ${formatPrice(payment.order.total)}`);
  const form = h('form', { id: 'payment-form' }, mount, button);
  method.replaceChildren(h('h2', { id: 'payment-heading' }, 'Payment'), form);
  elements.create('payment').mount(mount);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    // Cards confirm in place; methods that need a redirect come back to the order page.
    const returnUrl = new URL(`#/orders/${payment.order.id}`, window.location.href).href;
    const { error } = await whileBusy(button, () => stripe.confirmPayment({
      elements, redirect: 'if_required', confirmParams: { return_url: returnUrl },
    }));
    if (error) showError(error);
    else await waitUntilPaid(payment);
  });
}

function testModeForm(payment, method, stripeProblem) {
  const button = h('button', { type: 'button', class: 'primary', id: 'pay-test' },
    `Pay ${formatPrice(payment.order.total)} with test card`);
  button.addEventListener('click', async () => {
    try {
      await whileBusy(button, () => api.confirmTestPayment(Number(payment.order.id)));
    } catch (error) {
      showError(error);
      return;
    }
    button.disabled = true;  // confirmed once; the result shows below
    await waitUntilPaid(payment);
  });
  method.replaceChildren(
    h('h2', { id: 'payment-heading' }, 'Payment'),
    h('div', { class: 'test-mode', role: 'note', 'aria-label': 'Test mode' },
      h('p', {}, h('strong', { class: 'badge test-badge' }, 'Test mode'), ' No real card is charged.'),
      h('p', {}, stripeProblem || 'This shop runs Stripe in test mode without Stripe’s card form',
        ', so the shop confirms the payment itself with Stripe’s test Visa card (4242 4242 4242 4242).')),
    button);
}

// Polls the order (bounded) until the webhook has marked it paid or failed.
async function waitUntilPaid({ screen, order, summary, method, outcome }) {
  const show = (status, ...message) => {
    outcome.replaceChildren(h('p', {}, statusBadge(status), ' ', ...message));
  };
  show('pending', 'Payment sent. Waiting for Stripe to confirm it…');
  announce('Payment sent. Waiting for Stripe to confirm it.');
  for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt += 1) {
    if (attempt) await sleep(POLL_INTERVAL_MS);
    if (!screen.current) return;  // the user went elsewhere: stop polling
    let latest;
    try {
      latest = await api.order(order.id);
    } catch (error) {
      showError(error);
      return;
    }
    if (!screen.current) return;
    if (latest.status === 'paid') {
      summary.replaceWith(orderSummary(latest));
      method.remove();  // nothing left to pay
      const heading = h('h2', { tabindex: '-1' }, 'Payment received');
      outcome.replaceChildren(heading,
        h('p', {}, statusBadge('paid'), ` Thank you! Order #${order.id} is paid.`),
        h('p', {}, h('a', { href: `#/orders/${order.id}` }, 'View the order'), ' · ',
          h('a', { href: '#/' }, 'Continue shopping')));
      announce(`Payment received. Order #${order.id} is paid.`);
      heading.focus();
      return;
    }
    if (latest.payment_status === 'failed' || latest.status === 'canceled') {
      show(latest.payment_status, 'Stripe declined the payment. Your order is saved: try again from ',
        h('a', { href: `#/orders/${order.id}` }, 'the order page'), '.');
      announce('The payment failed.');
      return;
    }
  }
  show('pending', 'Stripe has not confirmed the payment yet. Check ',
    h('a', { href: `#/orders/${order.id}` }, 'the order page'), ' again in a minute.');
  announce('The payment is not confirmed yet.');
}
