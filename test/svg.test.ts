/**
 * The benchmark figures (dev/bench/svg.ts) are well-formed SVG and show their data: every value label,
 * category and series name is in the text, special characters are escaped, and no coordinate is NaN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, xyPlot, escapeXml, formatNumber, formatTick } from '../dev/bench/svg.ts';

/**
 * A tiny XML well-formedness check: tags balance and nest, attributes are name="value" pairs, text holds no
 * raw markup characters or unknown entities, and there is exactly one root element. Returns the text nodes.
 */
function checkXml(xml: string): { root: string; texts: string[] } {
  const stack: string[] = [];
  const texts: string[] = [];
  let root: string | undefined;
  let roots = 0;
  for (const token of xml.match(/<[^>]*>|[^<]+/g) ?? []) {
    if (!token.startsWith('<')) {
      assert.ok(!/[<>]/.test(token), `raw markup character in text: ${token}`);
      assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(token), `unescaped & in text: ${token}`);
      if (token.trim()) {
        assert.ok(stack.length > 0, `text outside the root: ${token}`);
        texts.push(token.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
      }
      continue;
    }
    const close = /^<\/([A-Za-z][\w:-]*)\s*>$/.exec(token);
    if (close) {
      assert.equal(stack.pop(), close[1], `</${close[1]}> closes the wrong element`);
      continue;
    }
    const open = /^<([A-Za-z][\w:-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>$/.exec(token);
    assert.ok(open, `malformed tag: ${token}`);
    if (stack.length === 0) {
      roots++;
      root = open[1];
    }
    const names = [...open[2].matchAll(/([A-Za-z_:][\w:.-]*)=/g)].map((m) => m[1]);
    assert.equal(new Set(names).size, names.length, `duplicate attribute in ${token}`);
    assert.ok(!/NaN|Infinity|undefined/.test(open[2]), `bad attribute value in ${token}`);
    if (!open[3]) stack.push(open[1]);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
  return { root: root!, texts };
}

test('bar chart: well-formed, every value labelled, log scale handles zeros', () => {
  const categories = ['input range check', 'fc1 (Gemm 784x56)', 'relu1 <56> & more'];
  for (const log of [false, true]) {
    const svg = barChart({
      title: 'constraints per layer',
      valueLabel: 'constraints',
      categories,
      log,
      series: [{ name: 'zkml', values: [6272, 0, 1288] }, { name: 'circomlib-ml', values: [0, 43904, 28952] }],
    });
    const { root, texts } = checkXml(svg);
    assert.equal(root, 'svg');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const label of ['6,272', '1,288', '43,904', '28,952', 'zkml', 'circomlib-ml', 'constraints per layer', ...categories]) {
      assert.ok(texts.includes(label), `"${label}" among the texts`);
    }
    // Zeros are labelled but drawn as no bar: 4 non-zero values, 4 bars (+ 2 legend swatches). The linear
    // axis has a "0" tick too.
    assert.equal(texts.filter((t) => t === '0').length, log ? 2 : 3);
    assert.equal((svg.match(/<rect [^>]*height="14"/g) ?? []).length, 4);
    assert.ok(texts.includes(log ? 'constraints (log scale)' : 'constraints'));
  }
});

test('x/y plot: well-formed, point labels and axis titles present, lines joined in x order', () => {
  const svg = xyPlot({
    title: 'prove time vs constraints',
    xLabel: 'constraints',
    yLabel: 'prove time (s)',
    logX: true,
    series: [
      { name: 'zkml', line: true, points: [{ x: 8634, y: 1.5, label: 'mlp784' }, { x: 326, y: 0.4, label: 'gemm_basic' }] },
      { name: 'baseline', points: [{ x: 73416, y: 9.2, label: 'mlp784 (baseline)' }] },
    ],
  });
  const { texts } = checkXml(svg);
  for (const label of ['mlp784', 'gemm_basic', 'mlp784 (baseline)', 'zkml', 'baseline', 'constraints (log scale)', 'prove time (s)']) {
    assert.ok(texts.includes(label), `"${label}" among the texts`);
  }
  assert.equal((svg.match(/<circle cx/g) ?? []).length, 3 + 2, '3 points + 2 legend markers');
  const line = /<polyline points="([^"]+)"/.exec(svg);
  assert.ok(line, 'the zkml series is a line');
  const xs = line[1].split(' ').map((p) => Number(p.split(',')[0]));
  assert.ok(xs[0] < xs[1], 'points joined left to right');
  // Log decades of the x axis: 100 .. 100k.
  for (const tick of ['100', '1k', '10k', '100k']) assert.ok(texts.includes(tick), `tick ${tick}`);
});

test('number formatting and escaping', () => {
  assert.equal(formatNumber(73416), '73,416');
  assert.equal(formatNumber(0.012345), '0.0123');
  assert.equal(formatTick(2500000), '2.5M');
  assert.equal(formatTick(1000), '1k');
  assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
});
