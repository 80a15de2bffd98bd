/* global document */
// Tiny helpers for building SVG by hand: the page needs a handful of shapes, not a framework.

const NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes, appended to `parent` when given. */
export function el(tag, attrs = {}, parent = undefined) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

/** A <text> element holding `content`. */
export function text(parent, x, y, className, content = '', attrs = {}) {
  const node = el('text', { x, y, class: className, ...attrs }, parent);
  node.textContent = content;
  return node;
}

/** Sets a text node's content only when it changed, so an unchanged value costs no layout. */
export function setText(node, content) {
  if (node.textContent !== content) node.textContent = content;
}

/**
 * A status pill whose right edge sits at `right`: a rounded rect sized to its text after every change.
 * Returns `set(status, label)`.
 */
export function pill(parent, right, y) {
  const group = el('g', { class: 'pill' }, parent);
  const box = el('rect', { y: y - 12, height: 18, rx: 9 }, group);
  const label = text(group, right - 8, y + 1, 'pill-text', '', { 'text-anchor': 'end' });
  return (status, content) => {
    group.setAttribute('data-status', status);
    setText(label, content);
    const width = label.getComputedTextLength() + 16;
    box.setAttribute('x', String(right - width));
    box.setAttribute('width', String(width));
  };
}
