// A user function for streampy-worker: splits a line into words and sends each word to one
// of the worker's outputs, chosen by a hash of the word, so every copy of a word lands in the
// same partition (as a keyed stream would). It yields [choice, message] pairs: the worker puts
// each message on outputs[choice % outputs.length].

/** FNV-1a of the word: stable across processes and runs. */
function hash(word) {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export default function* partitionWords(line) {
  for (const word of line.split(/\s+/)) {
    if (word !== '') yield [hash(word), word];
  }
}
