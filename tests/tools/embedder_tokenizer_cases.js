// Regenerates tests/fixtures/embedding/tokenizer_cases.jsonl: token ids from
// the Hugging Face `tokenizers` library itself (npm @anush008/tokenizers,
// native build of the Rust crate) on the real all-MiniLM-L6-v2 tokenizer.json,
// so CI checks the C tokenizer without npm.
//
//   cd /tmp/x && npm install @anush008/tokenizers
//   NODE_PATH=/tmp/x/node_modules node tests/tools/embedder_tokenizer_cases.js \
//     tests/fixtures/embedding/tokenizer.json /path/to/fixtures/corpus \
//     > tests/fixtures/embedding/tokenizer_cases.jsonl
//
// Each line: {"text", "ids" (no truncation), "ids256" (truncated to 256 as
// the embedder runs it, only when longer)}.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('@anush008/tokenizers');

const [tokJson, corpusDir] = process.argv.slice(2);

// Minimal RFC 4180 reader: enough for the corpus files.
function csvRows(text) {
  const rows = [];
  let row = [], field = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') field += '"', i++;
      else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') row.push(field), field = '';
    else if (c === '\n') row.push(field.replace(/\r$/, '')), rows.push(row), row = [], field = '';
    else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

const texts = [];
for (const f of fs.readdirSync(corpusDir).sort()) {
  if (!f.endsWith('.csv')) continue;
  const rows = csvRows(fs.readFileSync(path.join(corpusDir, f), 'utf8'));
  const col = rows[0].indexOf('text');
  // Every third line keeps the committed file small and still covers the mix.
  rows.slice(1).forEach((r, i) => { if (r[col] !== undefined && (f.startsWith('banglish') || i % 3 === 0)) texts.push(r[col]); });
}

const long = 'Raincoat price too high, delivery slow but quality ভালো! '.repeat(60);
texts.push(
  '', ' ', '   \t\n  ', '\u200b', '\u0000\u0001\u0007', '\ufeffhello',
  '[Product: Raincoat 5000 BDT] Price too high',
  '[Product: Raincoat 5000 BDT] [Product: Umbrella 350.50 BDT] কখন পাবো?',
  'আমি এই পণ্যটি কিনতে চাই, দাম কত?', 'ডেলিভারি অনেক দেরি হয়েছে। খুব খারাপ সার্ভিস!!!',
  'দাম ৳১২০০ টাকা, ০১৭১১-২৩৪৫৬৭ নম্বরে ফোন দিন', 'শুভ নববর্ষ ১৪৩১ 🎉',
  'vai product ta ki available ase? dam koto? onek sundor lagse 😍',
  'apnader delivery charge koto? ami Dhaka te thaki. COD hobe?',
  'Khub valo product, 100% original. Thanks Daraz!!', 'ekdom faltu, taka noshto 😡😡',
  'I ❤️ this 👍🏽👍🏿 🇧🇩 👨‍👩‍👧‍👦 🥰 🫠 🤣 😂😂😂', '✨✨ new arrival ✨✨ #sale #eid2026 @shop_bd',
  'café naïve résumé Ångström İstanbul Straße ﬁnance ＦＵＬＬ　ＷＩＤＴＨ', 'e\u0301 a\u0308 o\u0302\u0323',
  'ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ', 'Привет, как дела?', 'مرحبا بالعالم', 'नमस्ते दुनिया',
  '中文字符测试，价格太高了！', '日本語のテキスト、カタカナ。', '한국어 텍스트 안녕하세요',
  'see https://www.daraz.com.bd/products/x16-i323507402-s1541195889.html?spm=a2a0e.pdp&x=1 now',
  'mail me EMAIL_3f9a0c1d2e4b5a69 or call PHONE_3f9a0c1d2e4b5a69 / PHONE_00ff11ee22dd33cc',
  'prices: $12.50, ৳1,200.00, 1.5k BDT, 20% off, 3x, 4/5 stars, 10:30am',
  "don't won't U.S.A. e.g. i.e. ... !!! ??? --- ''' \"quoted\" (paren) [bracket] {brace} <tag> a|b ~x^y `z` =+*&%#@!",
  '[CLS] hello [SEP] world [PAD] [UNK] [MASK] [cls] [Sep]', '[[CLS]]', '[SEP',
  'x'.repeat(100), 'y'.repeat(101), 'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'tab\tseparated\nnew line\r\ncarriage', 'a\u00a0b\u2003c\u3000d', '\u0085next \u2028line',
  'ZWJ\u200dtest soft\u00adhyphen', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 ①②③', 'ﷺ ﷽', '\ud800'.slice(0, 0) + 'end',
  long, 'word '.repeat(300), '!'.repeat(300), long.repeat(3),
);

(async () => {
  const tok = tk.Tokenizer.fromFile(tokJson);
  tok.disablePadding();
  tok.disableTruncation();
  const trunc = tk.Tokenizer.fromFile(tokJson);
  trunc.disablePadding();
  trunc.setTruncation(256);
  for (const text of texts) {
    const ids = (await tok.encode(text)).getIds();
    const rec = {text, ids};
    if (ids.length > 256) rec.ids256 = (await trunc.encode(text)).getIds();
    process.stdout.write(JSON.stringify(rec) + '\n');
  }
})();
