/** Request pairs for the HTML page tests: hostile text, and text whose every word must vanish under --redact. */

/** Text that would run script or load something if any of it reached the page unescaped. */
export const HOSTILE = [
  '</script><script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '"><svg onload=window.__pwned=3>',
  '<!-- <script>window.__pwned=4</script> -->',
  '\u2028\u2029</pre><iframe src="https://example.com/x"></iframe>',
].join('\n');

export function hostilePair(): { a: unknown; b: unknown } {
  const sys = { role: 'system', content: `You are terse.\n${HOSTILE}` };
  const user = { role: 'user', content: `look: ${HOSTILE}`, '"><img src=x onerror=window.__pwned=5>': 'key' };
  return {
    a: { model: 'm', messages: [sys, user] },
    b: { model: 'm', messages: [{ ...sys, content: `${sys.content} v2 </script>` }, user, { role: 'assistant', content: HOSTILE }] },
  };
}

/** Words that occur in no chat template and no JSON key: none may survive redaction, in any format. */
export const SECRET_WORDS = ['Quokkasaurus', 'zanzibarite', 'Wimbleflux', 'periwinkle77', 'Xylotrombone', 'hushhush', 'Marzipanic', 'Flibbertigibbet', 'Snorkelwax'];

export function secretPair(): { a: unknown; b: unknown } {
  const [w0, w1, w2, w3, w4, w5, w6, w7, w8] = SECRET_WORDS;
  const messages = [
    { role: 'system', content: `Agent ${w0} at 2026-11-27T10:00:00Z` },
    { role: 'user', content: `Please ${w1} the ${w2} file.\n\n` },
    {
      role: 'assistant',
      content: `Sure, ${w3}.`,
      reasoning_content: `thinking about ${w4}`,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: JSON.stringify({ path: `/home/${w5}/notes.txt` }) } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: `${w6} secret contents` },
  ];
  const later = [...messages.slice(0, 1), { role: 'user', content: `Please ${w1} the ${w2} file.` }, ...messages.slice(2)];
  return {
    a: { model: 'm', messages },
    b: { model: 'm', messages: [{ ...later[0], content: `Agent ${w0} at 2026-11-27T10:05:00Z` }, ...later.slice(1), { role: 'user', content: `${w7} and ${w8}` }] },
  };
}
