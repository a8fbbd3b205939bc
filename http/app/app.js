// Souk's Mini App: signs in with Telegram's initData (outside Telegram, with a pasted token),
// then browses, edits the cart and checks out through the public /v1 API, as any client
// does. No framework and no build step: the DOM is built with `el`, text only through
// textContent, so nothing from the API is ever parsed as HTML.
(() => {
  'use strict';

  // Every string the page shows, one table a language (English, Russian, German, same keys);
  // `language` picks the user's, English when there is none.
  const EN = {
    shop: 'Shop', cart: 'Cart', orders: 'Orders', categories: 'Categories', all: 'All products',
    more: 'More', empty: 'Nothing here yet.', inStock: (n) => `${n} in stock`,
    outOfStock: 'Out of stock', variants: 'Also available', quantity: 'Quantity',
    addToCart: 'Add to cart', added: 'Added to cart.', remove: 'Remove', promo: 'Promo code',
    apply: 'Apply', promoOn: (c) => `Promo ${c} applied`, subtotal: 'Subtotal',
    discount: 'Discount', shipping: 'Shipping', tax: 'Tax', total: 'Total',
    balance: (m) => `Wallet balance: ${m}`, payWallet: 'Pay from wallet',
    payStars: (n) => `Pay with ${n} ★`, inStars: 'In Stars', address: 'Shipping address', name: 'Name',
    line1: 'Address', line2: 'Address (line 2)', city: 'City', postal: 'Postal code',
    country: 'Country (2 letters)', order: (id) => `Order #${id}`, status: 'Status',
    keys: 'Your keys', signIn: 'Sign in', devIntro:
      'Outside Telegram: paste a Souk token (souk token --user ID --role customer).',
    token: 'Token', signInFailed: 'Sign-in failed.', retry: 'Try again', signOut: 'Sign out',
    offline: 'Souk cannot be reached. Check the connection and try again.',
    failed: (s) => `The request failed (HTTP ${s}).`, paid: 'Paid. Thank you!',
    payCancelled: 'The payment was cancelled.', payFailed: 'The payment failed.',
    st: { pending_payment: 'awaiting payment', processing: 'being prepared',
      return_requested: 'return requested' },
  };
  // Russian plurals: 1, 21 штука; 2–4, 22 штуки; 5–20, 11–14 штук.
  const ru = (n, one, few, many) => (n % 10 === 1 && n % 100 !== 11 ? one
    : n % 10 > 1 && n % 10 < 5 && (n % 100 < 12 || n % 100 > 14) ? few : many);
  const RU = {
    shop: 'Магазин', cart: 'Корзина', orders: 'Заказы', categories: 'Категории', all: 'Все товары',
    more: 'Ещё', empty: 'Здесь пока пусто.', inStock: (n) => `В наличии ${n} ${ru(n, 'штука', 'штуки', 'штук')}`,
    outOfStock: 'Нет в наличии', variants: 'Другие варианты', quantity: 'Количество',
    addToCart: 'В корзину', added: 'Добавлено в корзину.', remove: 'Удалить', promo: 'Промокод',
    apply: 'Применить', promoOn: (c) => `Промокод ${c} применён`, subtotal: 'Сумма',
    discount: 'Скидка', shipping: 'Доставка', tax: 'Налог', total: 'Итого',
    balance: (m) => `В кошельке: ${m}`, payWallet: 'Оплатить из кошелька',
    payStars: (n) => `Оплатить ${n} ${ru(n, 'звездой', 'звёздами', 'звёздами')}`, inStars: 'В звёздах',
    address: 'Адрес доставки', name: 'Имя', line1: 'Адрес', line2: 'Адрес (строка 2)', city: 'Город',
    postal: 'Индекс', country: 'Страна (2 буквы)', order: (id) => `Заказ #${id}`, status: 'Статус',
    keys: 'Ваши ключи', signIn: 'Войти', devIntro:
      'Вне Telegram: вставьте токен Souk (souk token --user ID --role customer).',
    token: 'Токен', signInFailed: 'Войти не удалось.', retry: 'Повторить', signOut: 'Выйти',
    offline: 'Souk недоступен. Проверьте соединение и попробуйте ещё раз.',
    failed: (s) => `Запрос не удался (HTTP ${s}).`, paid: 'Оплачено. Спасибо!',
    payCancelled: 'Оплата отменена.', payFailed: 'Оплата не прошла.',
    st: { pending_payment: 'ожидает оплаты', paid: 'оплачен', processing: 'собирается',
      shipped: 'отправлен', delivered: 'доставлен', cancelled: 'отменён',
      return_requested: 'запрошен возврат', returned: 'возвращён', refunded: 'деньги возвращены' },
  };
  const DE = {
    shop: 'Shop', cart: 'Warenkorb', orders: 'Bestellungen', categories: 'Kategorien',
    all: 'Alle Produkte', more: 'Mehr', empty: 'Hier ist noch nichts.', inStock: (n) => `${n} auf Lager`,
    outOfStock: 'Ausverkauft', variants: 'Auch erhältlich', quantity: 'Menge',
    addToCart: 'In den Warenkorb', added: 'In den Warenkorb gelegt.', remove: 'Entfernen',
    promo: 'Gutscheincode', apply: 'Einlösen', promoOn: (c) => `Gutschein ${c} eingelöst`,
    subtotal: 'Zwischensumme', discount: 'Rabatt', shipping: 'Versand', tax: 'Steuer', total: 'Gesamt',
    balance: (m) => `Guthaben: ${m}`, payWallet: 'Mit Guthaben bezahlen',
    payStars: (n) => `${n} Stars bezahlen`, inStars: 'In Stars', address: 'Lieferadresse', name: 'Name',
    line1: 'Straße und Hausnummer', line2: 'Adresszusatz', city: 'Ort', postal: 'PLZ',
    country: 'Land (2 Buchstaben)', order: (id) => `Bestellung #${id}`, status: 'Status',
    keys: 'Ihre Schlüssel', signIn: 'Anmelden', devIntro:
      'Außerhalb von Telegram: ein Souk-Token einfügen (souk token --user ID --role customer).',
    token: 'Token', signInFailed: 'Anmeldung fehlgeschlagen.', retry: 'Erneut versuchen',
    signOut: 'Abmelden', offline: 'Souk ist nicht erreichbar. Prüfen Sie die Verbindung und versuchen Sie es erneut.',
    failed: (s) => `Die Anfrage ist fehlgeschlagen (HTTP ${s}).`, paid: 'Bezahlt. Vielen Dank!',
    payCancelled: 'Die Zahlung wurde abgebrochen.', payFailed: 'Die Zahlung ist fehlgeschlagen.',
    st: { pending_payment: 'wartet auf Zahlung', paid: 'bezahlt', processing: 'in Bearbeitung',
      shipped: 'versandt', delivered: 'zugestellt', cancelled: 'storniert',
      return_requested: 'Rückgabe angefragt', returned: 'zurückgegeben', refunded: 'erstattet' },
  };
  let T = EN;
  const PAGE = 10; // products per page
  const TOKEN = 'souk.token';
  const ATTEMPT = 'souk.checkout';
  const $ = (id) => document.getElementById(id);
  const tg = () => (window.Telegram && window.Telegram.WebApp) || null;
  const state = { token: null, lang: 'en', dev: false, cart: null, busy: false, ready: false,
    seq: 0, keep: false, starsPaid: null };

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) node.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) node.append(kid);
    return node;
  }

  function show(...nodes) { $('view').replaceChildren(...nodes.flat().filter(Boolean)); }

  // The one place a message reaches the user: every error envelope's `message` lands here.
  // `keep` lets it outlive the navigation that follows it.
  function notice(text, kind = 'error', keep = false) {
    const box = $('notice');
    box.textContent = text || '';
    box.className = kind;
    box.hidden = !text;
    state.keep = keep;
  }

  class ApiError extends Error {
    constructor(message, status, code) { super(message); this.status = status; this.code = code; }
  }

  // One call to the API; any answer but 2xx throws the envelope's message. Souk's token
  // lasts an hour: inside Telegram a 401 signs in again with the same initData (refused
  // once that is too old) and sends the call once more, with the same Idempotency-Key.
  async function api(method, path, body, headers, again = true) {
    const init = { method, headers: { Accept: 'application/json', 'Accept-Language': state.lang, ...headers } };
    if (state.token) init.headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(path, init); } catch (_) { throw new ApiError(T.offline, 0); }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (res.status === 401 && again && !state.dev && state.token) {
      await telegramToken();
      return api(method, path, body, headers, false);
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(e.message || T.failed(res.status), res.status, e.code);
    }
    return data;
  }

  function money(minor, currency) {
    try {
      const f = new Intl.NumberFormat(state.lang, { style: 'currency', currency });
      return f.format(minor / 10 ** f.resolvedOptions().maximumFractionDigits);
    } catch (_) { return `${minor} ${currency}`; }
  }

  // ---- Telegram ------------------------------------------------------------------------

  // Telegram opens the page with its launch data in the hash (or, after a reload, in
  // sessionStorage); only then is its script fetched, so a page outside Telegram (or a test
  // without internet) never waits for telegram.org.
  function inTelegram() {
    return /tgWebApp/.test(location.hash) || !!window.TelegramWebviewProxy
      || !!sessionStorage.getItem('__telegram__initParams') || window.parent !== window;
  }

  function telegramScript() {
    if (tg() || !inTelegram()) return Promise.resolve();
    return new Promise((done) => {
      const s = el('script', { src: 'https://telegram.org/js/telegram-web-app.js' });
      s.onload = s.onerror = done;
      setTimeout(done, 5000);
      document.head.append(s);
    });
  }

  function theme(params) {
    for (const [k, v] of Object.entries(params || {})) {
      if (/^#[0-9a-f]{3,8}$/i.test(v)) {
        document.documentElement.style.setProperty(`--tg-theme-${k.replace(/_/g, '-')}`, v);
      }
    }
  }

  // The user's language: sent as Accept-Language and used for money; its table of words if
  // the page has one (<html lang> says which words are shown), else English.
  function language(code) {
    if (/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(code || '')) state.lang = code;
    const words = { en: EN, ru: RU, de: DE }[state.lang.split('-')[0]];
    T = words || EN;
    document.documentElement.lang = words ? state.lang : 'en';
    for (const a of $('tabs').querySelectorAll('a')) a.textContent = T[a.dataset.tab];
  }

  // ---- Signing in ----------------------------------------------------------------------

  async function signIn() {
    const app = tg();
    if (app && app.initData) {
      app.ready();
      if (app.expand) app.expand();
      theme(app.themeParams);
      if (app.onEvent) app.onEvent('themeChanged', () => theme(app.themeParams));
      const user = app.initDataUnsafe && app.initDataUnsafe.user;
      language(user && user.language_code);
      await telegramToken();
      return;
    }
    language(navigator.language);
    state.dev = true;
    state.token = sessionStorage.getItem(TOKEN);
  }

  async function telegramToken() {
    state.token = null;
    const r = await api('POST', '/v1/auth/telegram', { init_data: tg().initData }, {}, false);
    state.token = r.token;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    state.token = null;
    $('tabs').hidden = true;
    devForm();
  }

  function devForm() {
    const input = el('textarea', { id: 'token', rows: 4, required: true, 'aria-label': T.token });
    const form = el('form', { onsubmit: async (e) => {
      e.preventDefault();
      state.token = input.value.trim();
      try {
        await api('GET', '/v1/me/wallet');
        sessionStorage.setItem(TOKEN, state.token);
        await start();
      } catch (err) { state.token = null; notice(err.message); }
    } }, el('p', { class: 'hint' }, T.devIntro), input, el('button', { type: 'submit' }, T.signIn));
    show(el('h2', null, T.signIn), form);
  }

  // ---- Catalog -------------------------------------------------------------------------

  // A list of the API's shape, a page at a time: "More" asks for the next cursor.
  async function paged(path, item, cls = 'list') {
    const list = el('ul', { class: cls });
    const more = el('button', { class: 'more', type: 'button', hidden: true }, T.more);
    let cursor = null;
    const load = async () => {
      more.disabled = true;
      const sep = path.includes('?') ? '&' : '?';
      const page = await api('GET', path + (cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''));
      list.append(...page.items.map((x) => el('li', null, item(x))));
      if (!list.children.length) list.append(el('li', { class: 'hint' }, T.empty));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      more.disabled = false;
    };
    more.addEventListener('click', () => load().catch((e) => notice(e.message)));
    await load();
    return [list, more];
  }

  function stock(n) {
    return el('span', { class: n > 0 ? 'stock' : 'stock out' }, n > 0 ? T.inStock(n) : T.outOfStock);
  }

  function productCard(p) {
    return el('a', { class: 'card product', href: `#/p/${p.id}` },
      el('span', { class: 'name' }, p.name),
      el('span', { class: 'price' }, money(p.price_minor, p.currency)), stock(p.stock_available));
  }

  async function home() {
    const chip = (c) => el('a', { class: 'chip', href: `#/c/${c.id}` }, c.name);
    const [categories, all] = await Promise.all([paged('/v1/categories?limit=100', chip, 'chips'),
      paged(`/v1/products?limit=${PAGE}`, productCard)]);
    return [el('h2', null, T.categories), el('section', { id: 'categories' }, categories),
      el('h2', null, T.all), el('section', { id: 'products' }, all)];
  }

  async function category(id) {
    const list = await paged(`/v1/products?category_id=${id}&limit=${PAGE}`, productCard);
    return [el('p', null, el('a', { href: '#/' }, `‹ ${T.categories}`)), el('section', { id: 'products' }, list)];
  }

  async function product(id) {
    const p = await api('GET', `/v1/products/${id}`);
    const inCart = () => ((state.cart && state.cart.lines.find((l) => l.product_id === p.id)) || { quantity: 0 }).quantity;
    const room = Math.min(100 - inCart(), p.stock_available);
    const qty = el('input', { id: 'qty', type: 'number', min: 1, max: Math.max(room, 1), value: 1,
      'aria-label': T.quantity });
    const add = el('button', { id: 'add', type: 'button', disabled: room < 1, onclick: async () => {
      add.disabled = true;
      try {
        const quantity = inCart() + Math.max(1, Number(qty.value) || 1);
        setCart(await api('PUT', `/v1/me/cart/items/${p.id}`, { quantity }));
        notice(T.added, 'info');
      } catch (e) { notice(e.message); }
      add.disabled = false;
    } }, T.addToCart);
    const options = Object.entries(p.options || {}).map(([k, v]) => `${k}: ${v}`).join(' · ');
    const siblings = (p.siblings || []).map((s) => el('li', null, el('a', { class: 'card', href: `#/p/${s.id}` },
      el('span', { class: 'name' }, Object.values(s.options).join(' · ') || s.name),
      el('span', { class: 'price' }, money(s.price_minor, p.currency)), stock(s.stock_available))));
    return el('article', { class: 'product-page' },
      p.image_url && /^https:/.test(p.image_url) ? el('img', { src: p.image_url, alt: '' }) : null,
      el('h2', { id: 'product-name' }, p.name),
      options && el('p', { class: 'options' }, options),
      el('p', { class: 'price big' }, money(p.price_minor, p.currency),
        p.price_stars ? el('span', { class: 'stars' }, ` · ${p.price_stars} ★`) : null),
      stock(p.stock_available),
      p.description && el('p', { class: 'description' }, p.description),
      el('div', { class: 'buy' }, qty, add),
      siblings.length ? [el('h3', null, T.variants), el('ul', { class: 'list' }, siblings)] : null);
  }

  // ---- Cart and checkout ---------------------------------------------------------------

  function setCart(cart) {
    state.cart = cart;
    const n = cart.lines.reduce((sum, l) => sum + l.quantity, 0);
    $('tabs').querySelector('[data-tab=cart]').textContent = n ? `${T.cart} (${n})` : T.cart;
  }

  async function cart() {
    const [c, wallet] = await Promise.all([api('GET', '/v1/me/cart'), api('GET', '/v1/me/wallet')]);
    setCart(c);
    if (!c.lines.length) return [el('h2', null, T.cart), el('p', { class: 'hint' }, T.empty)];
    const change = (path, method, body) => async () => {
      try { setCart(await api(method, path, body)); await route(); } catch (e) { notice(e.message); }
    };
    const lines = c.lines.map((l) => {
      const q = el('input', { type: 'number', min: 1, max: 100, value: l.quantity, 'aria-label': T.quantity });
      q.addEventListener('change', () => change(`/v1/me/cart/items/${l.product_id}`, 'PUT', { quantity: Number(q.value) })());
      return el('li', { class: 'line edit' }, el('a', { href: `#/p/${l.product_id}` }, l.name), q,
        el('span', { class: 'price' }, money(l.line_total_minor, c.currency)),
        el('button', { class: 'plain', type: 'button', onclick: change(`/v1/me/cart/items/${l.product_id}`, 'DELETE') }, T.remove));
    });
    const code = el('input', { id: 'promo', placeholder: T.promo, 'aria-label': T.promo, maxlength: 64 });
    const promo = c.promo_code
      ? el('p', null, T.promoOn(c.promo_code), ' ', el('button', { class: 'plain', type: 'button',
        onclick: change('/v1/me/cart/promo', 'DELETE') }, T.remove))
      : el('form', { class: 'promo', onsubmit: (e) => { e.preventDefault(); change('/v1/me/cart/promo', 'POST', { code: code.value.trim() })(); } },
        code, el('button', { type: 'submit' }, T.apply));
    const row = (label, minor) => el('tr', null, el('th', null, label), el('td', null, money(minor, c.currency)));
    const physical = c.lines.some((l) => l.kind === 'physical');
    const address = physical ? addressForm() : null;
    // Stars are paid through Telegram's invoice sheet, so they are offered only inside it;
    // the cart says what it costs in Stars (promo included) when it can be paid in them.
    const app = tg();
    const stars = app && app.openInvoice && c.total_stars ? c.total_stars : 0;
    const pay = (payment) => () => checkout(payment, address);
    return [el('h2', null, T.cart), el('ul', { class: 'list' }, lines), promo,
      c.promo_refusal && el('p', { class: 'hint' }, c.promo_refusal.message),
      el('table', { class: 'totals' }, row(T.subtotal, c.subtotal_minor),
        c.discount_minor ? row(T.discount, -c.discount_minor) : null,
        c.shipping_minor ? row(T.shipping, c.shipping_minor) : null,
        c.tax_minor ? row(T.tax, c.tax_minor) : null, row(T.total, c.total_minor)),
      address && address.form,
      el('p', { class: 'hint' }, T.balance(money(wallet.balance_minor, wallet.currency))),
      el('div', { class: 'pay' },
        el('button', { id: 'pay-wallet', class: 'pay-button', type: 'button', onclick: pay('wallet') }, T.payWallet),
        stars ? el('button', { id: 'pay-stars', class: 'pay-button', type: 'button', onclick: pay('stars') }, T.payStars(stars)) : null)];
  }

  function addressForm() {
    const fields = [['name', T.name], ['line1', T.line1], ['line2', T.line2], ['city', T.city],
      ['postal_code', T.postal], ['country', T.country]];
    const inputs = Object.fromEntries(fields.map(([k, label]) => [k, el('input', { name: k, placeholder: label, 'aria-label': label })]));
    return {
      form: el('fieldset', { class: 'address' }, el('legend', null, T.address), Object.values(inputs)),
      value: () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim() || null])),
    };
  }

  // A hex key from the browser's CSPRNG (crypto.randomUUID needs a secure context).
  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // One checkout attempt keeps one Idempotency-Key until the server gives a definite answer,
  // so a retry after a lost answer (even after a reload) replays instead of paying twice;
  // a second tap while one is in flight does nothing.
  async function checkout(payment, address) {
    if (state.busy) return;
    state.busy = true;
    const buttons = document.querySelectorAll('.pay-button');
    buttons.forEach((b) => { b.disabled = true; });
    const body = { payment };
    if (address) body.shipping_address = address.value();
    const what = JSON.stringify([body, state.cart && state.cart.lines]);
    let attempt = JSON.parse(sessionStorage.getItem(ATTEMPT) || 'null');
    if (!attempt || attempt.what !== what) attempt = { what, key: newKey() };
    sessionStorage.setItem(ATTEMPT, JSON.stringify(attempt));
    try {
      const order = await api('POST', '/v1/me/checkout', body, { 'Idempotency-Key': attempt.key });
      sessionStorage.removeItem(ATTEMPT);
      notice('');
      if (payment === 'stars') await payStars(order);
      location.hash = `#/o/${order.id}`;
    } catch (e) {
      if (e.status >= 400 && e.status < 500) sessionStorage.removeItem(ATTEMPT);
      notice(e.message);
    } finally {
      state.busy = false;
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function payStars(order) {
    const app = tg();
    if (!order.invoice_link || !app || !app.openInvoice) { notice(T.payFailed, 'error', true); return Promise.resolve(); }
    return new Promise((done) => app.openInvoice(order.invoice_link, (status) => {
      if (status === 'paid') {
        state.starsPaid = order.id;
        notice(T.paid, 'info', true);
      } else if (status === 'cancelled') notice(T.payCancelled, 'error', true);
      else if (status === 'failed') notice(T.payFailed, 'error', true);
      done();
    }));
  }

  // ---- Orders --------------------------------------------------------------------------

  async function orders() {
    const list = await paged('/v1/me/orders?limit=20', (o) => el('a', { class: 'card', href: `#/o/${o.id}` },
      el('span', { class: 'name' }, T.order(o.id)), el('span', { class: 'status' }, T.st[o.status] || o.status),
      el('span', { class: 'price' }, money(o.total_minor, o.currency))));
    return [el('h2', null, T.orders), el('section', { id: 'orders' }, list)];
  }

  async function order(id) {
    let o = await api('GET', `/v1/me/orders/${id}`);
    // A Stars payment is confirmed by Telegram's update to the bot, a moment after "paid".
    for (let i = 0; i < 5 && o.status === 'pending_payment' && state.starsPaid === o.id; i += 1) {
      await new Promise((r) => setTimeout(r, 1000));
      o = await api('GET', `/v1/me/orders/${id}`);
    }
    if (state.cart && state.cart.lines.length) setCart(await api('GET', '/v1/me/cart'));
    const row = (label, minor) => el('tr', null, el('th', null, label), el('td', null, money(minor, o.currency)));
    return [el('h2', { id: 'order-title' }, T.order(o.id)),
      el('p', null, `${T.status}: `, el('strong', { id: 'order-status' }, T.st[o.status] || o.status)),
      el('ul', { class: 'list' }, o.lines.map((l) => el('li', { class: 'line' },
        el('span', null, `${l.quantity} × ${l.name}`),
        el('span', { class: 'price' }, money(l.unit_price_minor * l.quantity, o.currency)),
        l.delivered_items && l.delivered_items.length ? el('div', { class: 'keys' }, el('h3', null, T.keys),
          l.delivered_items.map((k) => el('code', { class: 'key' }, k))) : null))),
      el('table', { class: 'totals' }, row(T.subtotal, o.subtotal_minor),
        o.discount_minor ? row(T.discount, -o.discount_minor) : null, row(T.total, o.total_minor),
        o.total_stars ? el('tr', null, el('th', null, T.inStars), el('td', { id: 'order-stars' }, `${o.total_stars} ★`)) : null)];
  }

  // ---- Routing -------------------------------------------------------------------------

  const ROUTES = [[/^#\/c\/(\d+)$/, category], [/^#\/p\/(\d+)$/, product], [/^#\/cart$/, cart],
    [/^#\/orders$/, orders], [/^#\/o\/(\d+)$/, order]];

  async function route() {
    if (!state.token) return;
    const seq = ++state.seq;
    const hash = location.hash;
    const match = ROUTES.map(([re, view]) => [hash.match(re), view]).find(([m]) => m);
    const app = tg();
    if (app && app.BackButton) app.BackButton[match ? 'show' : 'hide']();
    $('back').hidden = !match || !!(app && app.BackButton);
    if (!state.keep) notice('');
    state.keep = false;
    try {
      const nodes = match ? await match[1](...match[0].slice(1)) : await home();
      // A slower view must not replace the one the user went on to.
      if (seq === state.seq) {
        show(nodes);
        $('view').dataset.route = hash; // what is shown, for tests and styles
      }
    } catch (e) {
      if (e.status === 401 && state.dev) signOut();
      notice(e.message);
    }
  }

  async function start() {
    $('tabs').hidden = false;
    if (state.dev && !$('sign-out')) $('tabs').append(el('button', { id: 'sign-out', class: 'plain', type: 'button', onclick: signOut }, T.signOut));
    setCart(await api('GET', '/v1/me/cart'));
    await route();
    if (!state.ready) {
      state.ready = true;
      performance.mark('souk-ready');
      document.documentElement.dataset.ready = '1';
    }
  }

  async function boot() {
    $('back').addEventListener('click', () => history.back());
    window.addEventListener('hashchange', route);
    await telegramScript();
    const app = tg();
    if (app && app.BackButton) app.BackButton.onClick(() => history.back());
    try {
      await signIn();
    } catch (e) {
      notice(e.message);
      show(el('h2', null, T.signInFailed), el('button', { type: 'button', onclick: () => location.reload() }, T.retry));
      document.documentElement.dataset.ready = 'refused';
      return;
    }
    if (!state.token) { devForm(); return; }
    try {
      await start();
    } catch (e) {
      if (e.status === 401 && state.dev) signOut();
      notice(e.message);
    }
  }

  boot();
})();
