/**
 * The page of `zkml serve` (served from web/ by src/serve/web.ts): hosted models, recent inferences, and an
 * inference's page with its input digest, output, proof, and a "verify in your browser" button.
 *
 * The button trusts nothing the server says about validity: it neither calls POST /v1/verify nor reads the
 * inference's status. It takes the proof and public signals, the model's verification key, and runs snarkjs'
 * own Groth16 verification (its browser build, served by this server from the installed snarkjs package) here,
 * in this tab. What it still takes from the server is the key itself: its sha256 is shown so it can be compared
 * with one obtained elsewhere (the model's build folder, the on-chain verifier).
 *
 * Everything the server sends is put on the page as text (textContent), never as HTML.
 */

/** The BN254 scalar field order: a public signal at or above it is the same element as a smaller one. */
const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const view = document.getElementById('view');

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null) node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  return node;
}

const status = (s) => el('span', { class: `status ${s}`, 'data-status': s }, s);
const short = (id) => el('span', { class: 'id', title: id }, `${id.slice(0, 12)}…`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

/** Replaces the view with these nodes (nested arrays flattened, null and undefined left out). */
function show(...nodes) {
  view.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined));
}

async function home() {
  const [{ models }, { inferences }] = await Promise.all([getJson('/v1/models'), getJson('/v1/inferences?limit=50')]);
  const modelRows = models.map((m) =>
    el(
      'tr',
      { 'data-model': m.id },
      el('td', {}, short(m.id)),
      el('td', {}, status(m.status)),
      el('td', {}, m.manifest ? `${m.manifest.constraints ?? '?'}` : ''),
      el('td', {}, m.manifest ? `in ${m.manifest.visibility?.input ?? '?'}, out ${m.manifest.visibility?.output ?? '?'}` : m.error ?? ''),
      el('td', {}, m.manifest?.insecureSetup ? el('span', { class: 'warning' }, 'development ptau (insecure)') : ''),
      el('td', {}, when(m.created)),
    ),
  );
  const inferenceRows = inferences.map((i) =>
    el(
      'tr',
      { 'data-inference': i.id },
      el('td', {}, el('a', { href: `#/inference/${i.id}` }, short(i.id))),
      el('td', {}, short(i.modelId)),
      el('td', {}, status(i.status)),
      el('td', {}, outputSummary(i.output)),
      el('td', {}, when(i.created)),
    ),
  );
  show(
    el('h1', {}, 'Hosted models'),
    models.length
      ? el('table', { id: 'models' }, el('tr', {}, ...['model', 'status', 'constraints', 'visibility', 'setup', 'created'].map((h) => el('th', {}, h))), modelRows)
      : el('p', { class: 'muted' }, 'No model yet: POST /v1/models (see the API).'),
    el('h2', {}, 'Recent inferences'),
    inferences.length
      ? el('table', { id: 'inferences' }, el('tr', {}, ...['inference', 'model', 'status', 'output', 'created'].map((h) => el('th', {}, h))), inferenceRows)
      : el('p', { class: 'muted' }, 'No inference yet.'),
  );
}

function outputSummary(output) {
  if (!output) return '';
  const parts = (output.outputs ?? []).map((t) => (t.argmax !== undefined ? `${t.name}: argmax ${t.argmax}` : `${t.name}: [${t.floats.slice(0, 4).map((x) => +x.toFixed(4)).join(', ')}${t.floats.length > 4 ? ', …' : ''}]`));
  if (!parts.length && output.digests?.outputDigest) parts.push(`output digest ${output.digests.outputDigest.slice(0, 12)}…`);
  return parts.join('; ');
}

let events;

async function inferencePage(id) {
  events?.close();
  const inference = await getJson(`/v1/inferences/${id}`);
  render(inference);
  if (inference.status !== 'proven' && inference.status !== 'failed') {
    // Server-sent events: the page follows the proof as it comes (the stream ends once it is final).
    events = new EventSource(`/v1/inferences/${id}`);
    events.addEventListener('inference', (e) => {
      const next = JSON.parse(e.data);
      if (location.hash === `#/inference/${id}`) render(next);
      if (next.status === 'proven' || next.status === 'failed') events.close();
    });
  }
}

function tensors(list) {
  return list.map((t) =>
    el(
      'div',
      { class: 'tensor' },
      el('strong', {}, `${t.name} `),
      el('span', { class: 'muted' }, `[${t.shape.join('×')}]`),
      el('pre', { 'data-tensor': t.name }, JSON.stringify(t.floats)),
      t.argmax !== undefined ? el('div', {}, `argmax ${t.argmax}`) : null,
      t.probabilities ? el('div', { class: 'muted' }, `probabilities ${JSON.stringify(t.probabilities.map((p) => +p.toFixed(4)))}`) : null,
    ),
  );
}

function render(i) {
  const out = i.output ?? {};
  const digests = out.digests ?? {};
  const verdict = el('div', { id: 'verdict', class: 'verdict', 'data-verdict': 'none' }, i.proof ? 'Not checked yet.' : 'No proof yet.');
  const button = el('button', { id: 'verify', type: 'button', disabled: !i.proof, onclick: () => verifyHere(i, button, verdict) }, 'Verify in your browser');
  show(
    el('p', {}, el('a', { href: '#/' }, '← all models and inferences')),
    el('h1', {}, 'Inference ', el('span', { class: 'id' }, i.id)),
    el(
      'dl',
      {},
      el('dt', {}, 'model'),
      el('dd', { class: 'id' }, i.modelId),
      el('dt', {}, 'server says'),
      el('dd', {}, status(i.status), i.status === 'proven' ? '' : el('span', { class: 'muted' }, i.status === 'failed' ? ` ${i.error ?? ''}` : ' the output below is unproven until its proof arrives')),
      el('dt', {}, 'input digest'),
      el('dd', { id: 'input-digest', class: 'id' }, digests.inputDigest ?? (out.publicInputs?.length ? 'none: the input is public (below)' : 'none: the input is private')),
      digests.outputDigest ? [el('dt', {}, 'output digest'), el('dd', { class: 'id' }, digests.outputDigest)] : null,
      digests.commitment ? [el('dt', {}, 'parameter commitment'), el('dd', { class: 'id' }, digests.commitment)] : null,
      el('dt', {}, 'created'),
      el('dd', {}, when(i.created)),
      // On-chain settlement (a server started with --rpc-url): the InferenceRegistry transaction.
      i.settlement
        ? [el('dt', {}, 'on chain'), el('dd', { id: 'settlement' }, i.settlement.status, i.settlement.txHash ? [' ', el('span', { class: 'id' }, i.settlement.txHash)] : '', i.settlement.error ? el('span', { class: 'muted' }, ` ${i.settlement.error}`) : '')]
        : null,
    ),
    out.insecureSetup ? el('p', { class: 'warning' }, "This model's setup used the development ptau: anyone who knows it can forge proofs.") : null,
    el('h2', {}, 'Output'),
    out.outputs?.length ? tensors(out.outputs) : el('p', { class: 'muted' }, 'The output is hashed: only its digest is public.'),
    out.publicInputs?.length ? [el('h2', {}, 'Public input'), tensors(out.publicInputs)] : null,
    el('h2', {}, 'Proof'),
    el('pre', { id: 'proof' }, i.proof ? JSON.stringify(i.proof, null, 1) : '—'),
    el('h2', {}, 'Public signals'),
    el('pre', { id: 'public-signals' }, i.publicSignals ? JSON.stringify(i.publicSignals, null, 1) : '—'),
    el('p', { class: 'muted' }, "The check below runs snarkjs' Groth16 verification in this tab, against the model's verification key; it does not ask the server whether the proof is valid."),
    button,
    verdict,
  );
}

let snarkjsLoading;

/** snarkjs' browser build (a global `snarkjs`), loaded on first use. */
function loadSnarkjs() {
  snarkjsLoading ??= new Promise((resolve, reject) => {
    const script = el('script', { src: '/vendor/snarkjs.min.js' });
    script.onload = () => (globalThis.snarkjs ? resolve(globalThis.snarkjs) : reject(new Error('snarkjs did not load')));
    script.onerror = () => reject(new Error('cannot load /vendor/snarkjs.min.js'));
    document.head.append(script);
  });
  return snarkjsLoading;
}

async function sha256Hex(text) {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function setVerdict(node, kind, ...text) {
  node.dataset.verdict = kind;
  node.replaceChildren(...text);
}

async function verifyHere(i, button, verdict) {
  button.disabled = true;
  setVerdict(verdict, 'running', 'Verifying in your browser…');
  try {
    const [snarkjs, model] = await Promise.all([loadSnarkjs(), getJson(`/v1/models/${i.modelId}`)]);
    const vk = model.verificationKey;
    if (!vk || vk.protocol !== 'groth16') throw new Error(`model ${i.modelId} has no Groth16 verification key`);
    const signals = i.publicSignals;
    const vkHash = await sha256Hex(JSON.stringify(vk));
    const keyNote = el('div', { class: 'muted' }, 'verification key sha256 ', el('span', { class: 'id', id: 'vk-sha256' }, vkHash));
    // snarkjs reduces signals modulo p; a signal at or above p, or a wrong count, is refused here instead.
    if (!Array.isArray(signals) || signals.length !== vk.nPublic) return setVerdict(verdict, 'invalid', `Invalid: ${signals?.length ?? 0} public signals, the key has ${vk.nPublic}.`, keyNote);
    if (signals.some((s) => !/^[0-9]+$/.test(s) || BigInt(s) >= FIELD_P)) return setVerdict(verdict, 'invalid', 'Invalid: a public signal is not a field element below p.', keyNote);
    const started = performance.now();
    const valid = await snarkjs.groth16.verify(vk, signals, i.proof);
    const ms = Math.round(performance.now() - started);
    setVerdict(verdict, valid ? 'valid' : 'invalid', valid ? `Valid: the proof verifies against the model's key (${ms} ms, in this browser).` : `Invalid: the proof does not verify against the model's key (${ms} ms, in this browser).`, keyNote);
  } catch (err) {
    setVerdict(verdict, 'error', `Could not verify: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

async function route() {
  try {
    const m = /^#\/inference\/([0-9a-f]{16,64})$/.exec(location.hash);
    if (m) await inferencePage(m[1]);
    else {
      events?.close();
      await home();
    }
  } catch (err) {
    show(el('p', { class: 'verdict', 'data-verdict': 'error' }, err.message));
  }
}

window.addEventListener('hashchange', route);
route();
