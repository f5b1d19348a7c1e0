// A strict JSON reader that keeps whole numbers exact, as BigInt, for static/verify.js in browsers
// whose JSON.parse gives a reviver no source text (before Chrome 114, Firefox 135, Safari 18.4),
// where a Discord id would be rounded to a double. Otherwise it reads as JSON.parse does
// (RFC 8259): numbers with a fraction or an exponent as Number, and malformed text is refused
// with a SyntaxError. A browser test compares the two on awkward and generated texts.
"use strict";

(function () {
  const WHITESPACE = /[ \t\n\r]*/y;
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const PLAIN = /[^"\\\u0000-\u001f]*/y; // a string's run up to a quote, an escape or a control
  const HEX4 = /^[0-9a-fA-F]{4}$/;
  const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

  function parse(source) {
    const text = String(source);
    let at = 0;

    function fail(what) {
      throw new SyntaxError(`${what} at position ${at} of the JSON text`);
    }

    function skipWhitespace() {
      WHITESPACE.lastIndex = at;
      WHITESPACE.exec(text);
      at = WHITESPACE.lastIndex;
    }

    function take(char) {
      if (text[at] !== char) fail(at < text.length ? `expected ${char}` : "unexpected end");
      at += 1;
    }

    function string() {
      take('"');
      let out = "";
      for (;;) {
        PLAIN.lastIndex = at;
        out += PLAIN.exec(text)[0];
        at = PLAIN.lastIndex;
        if (text[at] === '"') {
          at += 1;
          return out;
        }
        if (at >= text.length) fail("unterminated string");
        if (text[at] !== "\\") fail("control character in a string");
        const code = text[at + 1];
        if (code === "u") {
          // Each \uXXXX is one UTF-16 unit: two of a surrogate pair make one character.
          const hex = text.slice(at + 2, at + 6);
          if (!HEX4.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          at += 6;
        } else if (Object.prototype.hasOwnProperty.call(ESCAPES, code)) {
          out += ESCAPES[code];
          at += 2;
        } else {
          fail("bad escape");
        }
      }
    }

    function number() {
      NUMBER.lastIndex = at;
      const match = NUMBER.exec(text);
      if (match === null) fail(at < text.length ? "unexpected character" : "unexpected end");
      at = NUMBER.lastIndex;
      const whole = match[1] === undefined && match[2] === undefined;
      return whole ? BigInt(match[0]) : Number(match[0]);
    }

    function word(name, value) {
      if (!text.startsWith(name, at)) fail("unexpected character");
      at += name.length;
      return value;
    }

    function array() {
      take("[");
      const out = [];
      skipWhitespace();
      if (text[at] === "]") {
        at += 1;
        return out;
      }
      for (;;) {
        out.push(value());
        skipWhitespace();
        if (text[at] === "]") {
          at += 1;
          return out;
        }
        take(",");
      }
    }

    function object() {
      take("{");
      const out = {};
      skipWhitespace();
      if (text[at] === "}") {
        at += 1;
        return out;
      }
      for (;;) {
        skipWhitespace();
        const key = string();
        skipWhitespace();
        take(":");
        // Defined, not assigned: a "__proto__" key is a plain property, as JSON.parse makes it.
        Object.defineProperty(out, key,
          { value: value(), writable: true, enumerable: true, configurable: true });
        skipWhitespace();
        if (text[at] === "}") {
          at += 1;
          return out;
        }
        take(",");
      }
    }

    function value() {
      skipWhitespace();
      switch (text[at]) {
        case "{": return object();
        case "[": return array();
        case '"': return string();
        case "t": return word("true", true);
        case "f": return word("false", false);
        case "n": return word("null", null);
        default: return number();
      }
    }

    const result = value();
    skipWhitespace();
    if (at !== text.length) fail("unexpected text after the value");
    return result;
  }

  window.streamkeeperExactJson = { parse: parse };
})();
