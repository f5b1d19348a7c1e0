// The raffle proof verifier, in the browser: the same checks, in the same order and with the
// same words, as core/features/raffle/draws/verification.py verify() (docs/raffle.md, "Verifiable draws").
// The beacon's chain and signatures are static/beacon.js's (loaded before this file), and so is
// static/exact-json.js, the JSON reader of browsers without JSON.parse source text access.
// Whole numbers are read as BigInt (Discord ids do not fit a double).
"use strict";

(function () {
  // By snapshot version: 2 names admins by pseudonyms ("actor"), 1 by Discord ids ("actor_id");
  // 3 as 2, and its header fixes the period's end, its close and the beacon chain and round.
  const PROOF_FORMATS = { 1: "streamkeeper-raffle-proof/1", 2: "streamkeeper-raffle-proof/2",
    3: "streamkeeper-raffle-proof/3" };
  const LEDGER_FORMATS = { 1: "streamkeeper-raffle-ledger/1", 2: "streamkeeper-raffle-ledger/2",
    3: "streamkeeper-raffle-ledger/3" };
  const ROUND_FIXED_FROM = 3;
  const HEX64 = /^[0-9a-fA-F]{64}$/;
  const REPLACED = /^in place of winner ([0-9]{1,6}) \(([^()]*)\): /;
  const REUSED = "anyone who read the published seed could know its winners before it was " +
    "asked for";
  const FORCED = "it skipped the beacon, so its winners follow from the seed and the ledger " +
    "alone, and whoever ran the bot could know them in advance";
  const enc = new TextEncoder();

  // Does JSON.parse give a reviver the source text (Chrome 114, Firefox 135, Safari 18.4)?
  const SOURCE_TEXT = JSON.parse("1", (key, value, context) =>
    context !== undefined && context.source === "1");

  function parse(text) {
    // Keep every integer exactly: from its source text, else by static/exact-json.js's reader.
    if (!SOURCE_TEXT) return window.streamkeeperExactJson.parse(text);
    return JSON.parse(text, function (key, value, context) {
      if (typeof value === "number" && /^-?\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      return value;
    });
  }

  function int(value) {
    if (typeof value === "bigint") return value;
    if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.trunc(value));
    if (typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value)) return BigInt(value.trim());
    throw new Error("not a whole number: " + String(value));
  }

  function str(value) {
    if (value === null) return "None";
    if (typeof value === "boolean") return value ? "True" : "False";
    return String(value);
  }

  function hexBytes(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new Error("not hexadecimal: " + String(hex));
    }
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function toHex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Python compares strings by code point; JavaScript's < by UTF-16 unit.
  function byCodePoint(a, b) {
    const x = Array.from(a), y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) return d;
    }
    return x.length - y.length;
  }

  function sortedSet(keys) {
    return Array.from(new Set(keys)).sort(byCodePoint);
  }

  // One compact JSON line as Python's json.dumps(ensure_ascii=False, separators=(",", ":")).
  function line(values) {
    const parts = values.map((v) =>
      v === null ? "null" : typeof v === "bigint" ? v.toString() : JSON.stringify(v)
    );
    return "[" + parts.join(",") + "]\n";
  }

  async function sha256Hex(bytes) {
    return toHex(await crypto.subtle.digest("SHA-256", bytes));
  }

  function knownVersion(value, formats) {
    for (const [version, name] of Object.entries(formats)) {
      if (name === value) return Number(version);
    }
    return null;
  }

  function actorOf(value, version) {
    if (value === null) return null;
    return version === 1 ? int(value) : str(value);
  }

  function entriesFromExport(ledger, version) {
    const field = version === 1 ? "actor_id" : "actor";
    return ledger.entries.map((row) => ({
      id: int(row.id),
      platform: str(row.platform),
      platform_user_id: str(row.platform_user_id),
      amount: int(row.amount),
      source: str(row.source),
      source_ref: str(row.source_ref),
      actor: actorOf(row[field], version),
      reason: str(row.reason),
      created_at: str(row.created_at),
    }));
  }

  // A time of the proof ("2026-04-01T00:00:10.5+00:00") as the snapshot writes it, to the
  // microsecond (Python's format_time): "2026-04-01T00:00:10.500000Z". No offset: UTC.
  function canonicalTime(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})?$/
      .exec(String(text));
    if (!m) throw new Error("bad period times");
    let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]),
      Number(m[6]));
    if (m[8] && m[8] !== "Z") {
      const sign = m[8][0] === "-" ? -1 : 1;
      ms -= sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6))) * 60000;
    }
    if (Number.isNaN(ms)) throw new Error("bad period times");
    const whole = new Date(ms).toISOString().slice(0, 19);
    return `${whole}.${(m[7] || "").padEnd(6, "0")}Z`;
  }

  // What a version 3 snapshot's header holds, as the proof gives it.
  function roundFix(proof, beacon) {
    const present = (v) => v !== undefined && v !== null;
    return [canonicalTime(proof.ends_at), canonicalTime(proof.closed_at),
      present(beacon.chain_hash) ? str(beacon.chain_hash) : null,
      present(beacon.round) ? int(beacon.round) : null];
  }

  async function snapshotHash(guildId, periodId, entries, eligible, version, fix) {
    let text = line(["streamkeeper-raffle-snapshot", BigInt(version), guildId, periodId,
      ...(fix || [])]);
    const sorted = entries.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const e of sorted) {
      text += line(["entry", e.id, e.platform, e.platform_user_id, e.amount, e.source,
        e.source_ref, e.actor, e.reason, e.created_at]);
    }
    for (const key of sortedSet(eligible)) text += line(["eligible", key]);
    return sha256Hex(enc.encode(text));
  }

  function firstRoundAfter(seconds, genesis, period) {
    const elapsed = seconds - genesis;
    if (elapsed < 0) return 1;
    return Math.floor(elapsed / period) + 2;
  }

  function expectedRound(endsAt, closedAt, genesis, period) {
    const ends = Date.parse(endsAt) / 1000, closed = Date.parse(closedAt) / 1000;
    if (Number.isNaN(ends) || Number.isNaN(closed)) throw new Error("bad period times");
    const fixed = firstRoundAfter(ends, genesis, period);
    if (genesis + (fixed - 1) * period <= closed) return firstRoundAfter(closed, genesis, period);
    return fixed;
  }

  async function drawValue(seedKey, snapshotHex, randomnessHex, counter) {
    const head = hexBytes(snapshotHex), rand = hexBytes(randomnessHex);
    const message = new Uint8Array(head.length + rand.length + 8);
    message.set(head, 0);
    message.set(rand, head.length);
    new DataView(message.buffer).setBigUint64(head.length + rand.length, BigInt(counter));
    const digest = await crypto.subtle.sign("HMAC", seedKey, message);
    return BigInt("0x" + (toHex(digest) || "0"));
  }

  async function pickWinners(seedKey, snapshotHex, randomnessHex, totals, eligible, won, first, count) {
    const pool = new Set(eligible);
    for (const key of won) pool.delete(key);
    const picks = [];
    let counter = first;
    while (picks.length < count) {
      const ranges = [];
      let total = 0n;
      for (const key of sortedSet(pool)) {
        const tickets = totals.get(key) || 0n;
        if (tickets > 0n) {
          ranges.push([key, total, tickets]);
          total += tickets;
        }
      }
      if (total === 0n) break;
      const ticket = (await drawValue(seedKey, snapshotHex, randomnessHex, counter)) % total;
      const holder = ranges.find(([, start, n]) => start <= ticket && ticket < start + n)[0];
      picks.push({ participant: holder, ticket: ticket, counter: BigInt(counter) });
      pool.delete(holder);
      counter += 1;
    }
    return picks;
  }

  function describe(picks) {
    if (picks.length === 0) return "none";
    return picks.map((p) => `${p.participant} (ticket ${p.ticket}, counter ${p.counter})`).join(", ");
  }

  function samePicks(a, b) {
    return a.length === b.length && a.every((p, i) =>
      p.participant === b[i].participant && p.ticket === b[i].ticket && p.counter === b[i].counter);
  }

  function isReroll(draw) {
    return draw.reroll_of !== undefined && draw.reroll_of !== null;
  }

  // The first round published after the draw was asked for: a reroll's own round.
  function roundAfter(draw, beacon) {
    // Whole seconds by the ISO form every browser reads, then the microseconds.
    const exact = canonicalTime(draw.requested_at);
    const asked = Date.parse(exact.slice(0, 19) + "Z") / 1000 + Number("0." + exact.slice(20, 26));
    return firstRoundAfter(asked, Number(int(beacon.genesis_time)),
      Number(int(beacon.period_seconds)));
  }

  // A reroll waits for the first round published after it was asked for: one nobody knew then
  // (the period's was out, and the seed public with the first draw).
  function checkRerollRound(draw, label, beacon, notes, problems) {
    const own = roundAfter(draw, beacon), used = Number(int(draw.beacon_round));
    const asked = str(draw.requested_at);
    if (used !== own) {
      problems.push(`${label} is a reroll asked for at ${asked}: it should use beacon round ` +
        `${own}, the first published after that, not ${used}`);
      return;
    }
    notes.push(`${label} is a reroll of draw ${draw.reroll_of}: it used round ${used}, the ` +
      `first published after it was asked for (${asked})`);
  }

  // A reroll rerolls an earlier draw of the proof; one whose reason names the winner it
  // replaces ("in place of winner 2 (kick:42): ...") drew one, in place of that draw's winner.
  function checkReplaced(draw, label, earlier, problems) {
    const rerolled = earlier.get(str(draw.reroll_of));
    if (rerolled === undefined) {
      problems.push(`${label} is a reroll of draw ${draw.reroll_of}, which is not an earlier ` +
        "draw of this proof");
      return;
    }
    const named = REPLACED.exec(draw.reason === undefined || draw.reason === null ? "" :
      str(draw.reason));
    if (named === null) return;
    const position = Number(named[1]), key = named[2];
    const winners = rerolled.winners.map((w) => str(w.participant));
    const says = `${label} says it replaces winner ${position} (${key}) of draw ${draw.reroll_of}`;
    if (!(position >= 1 && position <= winners.length)) {
      problems.push(`${says}, which had ${winners.length} winner(s)`);
    } else if (winners[position - 1] !== key) {
      problems.push(`${says}, whose winner ${position} is ${winners[position - 1]}`);
    } else if (Number(int(draw.winners_wanted)) !== 1) {
      problems.push(`${label} replaces one winner but draws ${draw.winners_wanted}`);
    }
  }

  // A reroll made before rerolls had rounds of their own reused the period's round: it still
  // verifies, but its round was out when it was asked for (unless it was asked for before).
  function noteReusedRound(draw, label, beacon, notes) {
    const used = Number(int(draw.beacon_round));
    if (roundAfter(draw, beacon) > used) {
      notes.push(`${label} is a reroll of draw ${draw.reroll_of} that reused round ${used}, ` +
        `out before it was asked for: ${REUSED}`);
    }
  }

  async function verify(proofText, ledgerText) {
    const proof = parse(proofText), ledger = parse(ledgerText);
    const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isObject(proof) || !isObject(ledger)) {
      throw new Error("the proof and the ledger must each be a JSON object");
    }
    const problems = [];
    const proofVersion = knownVersion(proof.format, PROOF_FORMATS);
    const ledgerVersion = knownVersion(ledger.format, LEDGER_FORMATS);
    if (proofVersion === null) {
      problems.push(`the proof is not in the ${Object.values(PROOF_FORMATS).join(" or ")} format`);
    }
    if (ledgerVersion === null) {
      problems.push(`the ledger is not in the ${Object.values(LEDGER_FORMATS).join(" or ")} format`);
    }
    if (proofVersion !== null && ledgerVersion !== null && proofVersion !== ledgerVersion) {
      problems.push(`the proof is in the ${proof.format} format but the ledger in ${ledger.format}`);
    }
    const version = ledgerVersion || 1;
    const guildId = int(proof.guild_id), periodId = int(proof.period_id);
    if (int(ledger.guild_id) !== guildId || int(ledger.period_id) !== periodId) {
      problems.push("the ledger belongs to another period");
    }
    const seed = str(proof.seed);
    if ((await sha256Hex(hexBytes(seed))) !== proof.commitment) {
      problems.push("the seed does not match the commitment published when the period opened");
    }
    const entries = entriesFromExport(ledger, version);
    const eligible = ledger.eligible.map(str);
    let beacon = proof.beacon || {};
    const fix = version >= ROUND_FIXED_FROM ? roundFix(proof, beacon) : null;
    const recomputed = await snapshotHash(guildId, periodId, entries, eligible, version, fix);
    if (recomputed !== proof.snapshot_hash) {
      problems.push(`the ledger hashes to ${recomputed}, not to the snapshot hash ` +
        `${proof.snapshot_hash} recorded when the period closed`);
    }
    const beaconCheck = window.streamkeeperBeacon;
    const chain = beaconCheck.chainOfProof(beacon, problems);
    if (chain !== null && chain.pinned) {
      // A pinned chain's timing is the code's: a proof cannot move its round.
      beacon = Object.assign({}, beacon, {
        genesis_time: BigInt(chain.genesis_time), period_seconds: BigInt(chain.period_seconds) });
    }
    const notes = [`snapshot hash ${recomputed}: compare it with the one announced at the close`];
    let fixedRound = null;
    const present = (v) => v !== undefined && v !== null;
    if (present(beacon.genesis_time) && present(beacon.period_seconds) && beacon.period_seconds !== 0n && beacon.period_seconds !== 0) {
      fixedRound = expectedRound(proof.ends_at, proof.closed_at,
        Number(int(beacon.genesis_time)), Number(int(beacon.period_seconds)));
      if (present(beacon.round) && Number(int(beacon.round)) !== fixedRound) {
        problems.push(`the beacon round should be ${fixedRound}, not ${beacon.round}`);
      }
    }
    // The round every beacon draw must use: the snapshot's (version 3), else the rules' from
    // the proof's own times.
    const drawRound = fix === null ? fixedRound : fix[3] === null ? null : Number(fix[3]);
    let usedBeacon = false;  // a draw used the period's round
    let ownRounds = false;  // a reroll used a round of its own
    const totals = new Map();
    for (const e of entries) {
      const key = `${e.platform}:${e.platform_user_id}`;
      totals.set(key, (totals.get(key) || 0n) + e.amount);
    }
    const seedKey = await crypto.subtle.importKey(
      "raw", hexBytes(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const won = [];
    let checked = 0;
    const earlier = new Map();
    for (const draw of proof.draws) {
      const label = `draw ${draw.id}`;
      if (isReroll(draw)) checkReplaced(draw, label, earlier, problems);
      earlier.set(str(draw.id), draw);  // by id as written: nothing else reads it
      let randomness = draw.forced ? "" : str(draw.beacon_randomness);
      if (draw.forced) {
        notes.push(`${label} was forced: ${FORCED}`);
      } else if (!HEX64.test(randomness)) {
        // A forced draw's empty randomness, say: winners known before any round.
        problems.push(`${label} used the beacon, but its randomness is not 64 hex digits`);
        randomness = "";
      } else {
        if (fixedRound === null) {
          problems.push(`${label} used the beacon, but the proof lacks the beacon's genesis_time ` +
            "and period_seconds, so its round cannot be checked");
        } else if (drawRound === null) {
          problems.push(`${label} used the beacon, but the snapshot fixes no round`);
        } else if (isReroll(draw) && Number(int(draw.beacon_round)) !== drawRound) {
          ownRounds = true;
          checkRerollRound(draw, label, beacon, notes, problems);
        } else if (Number(int(draw.beacon_round)) !== drawRound) {
          const fixed = fix === null ? "" : `, not round ${fix[3]}, which the snapshot fixes`;
          problems.push(`${label} used beacon round ${draw.beacon_round}${fixed}`);
        } else {
          usedBeacon = true;
          if (isReroll(draw)) noteReusedRound(draw, label, beacon, notes);
        }
        let note = await beaconCheck.checkDraw(draw, label, chain, problems);
        if (note === null && chain === null && !draw.beacon_signature) note = beaconCheck.ABSENT;
        if (note !== null && !notes.includes(note)) notes.push(note);
      }
      if (int(draw.first_counter) !== BigInt(won.length)) {
        problems.push(`${label} should start at counter ${won.length}`);
      }
      const recorded = draw.winners.map((w) => ({
        participant: str(w.participant), ticket: int(w.ticket), counter: int(w.counter),
      }));
      const expected = await pickWinners(seedKey, str(proof.snapshot_hash), randomness, totals,
        eligible, won, won.length, Number(int(draw.winners_wanted)));
      if (!samePicks(expected, recorded)) {
        problems.push(`${label}: recomputed winners ${describe(expected)}, ` +
          `the proof says ${describe(recorded)}`);
      }
      for (const p of recorded) won.push(p.participant);
      checked += 1;
    }
    if (usedBeacon) {
      const every = ownRounds
        ? "every beacon draw but the rerolls on rounds of their own" : "every beacon draw";
      notes.splice(1, 0, version >= ROUND_FIXED_FROM
        ? `round: ${every} used round ${drawRound}, which the snapshot hash fixes`
        : `round: ${every} used round ${drawRound}, the one the proof's own ends_at ` +
          `and closed_at give (a version ${version} snapshot does not fix it): compare it with ` +
          "the round announced at the close");
    }
    return { problems: problems, draws_checked: checked, notes: notes };
  }

  window.streamkeeperVerify = verify;

  async function fileOrLink(input, link) {
    if (input.files && input.files.length) return input.files[0].text();
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`could not download ${link.href} (${response.status})`);
    return response.text();
  }

  function show(result, ok, title, items) {
    result.replaceChildren();
    const head = document.createElement("p");
    head.className = ok ? "match" : "mismatch";
    head.textContent = title;
    result.append(head);
    if (items.length) {
      const list = document.createElement("ul");
      for (const item of items) {
        const li = document.createElement("li");
        li.textContent = item;
        list.append(li);
      }
      result.append(list);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("verify-form");
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const result = document.getElementById("verify-result");
      if (!window.crypto || !crypto.subtle) {
        show(result, false, "This browser cannot check it here (WebCrypto needs HTTPS).", []);
        return;
      }
      result.textContent = "Checking...";
      try {
        const proofText = await fileOrLink(document.getElementById("proof-file"),
          document.getElementById("proof-link"));
        const ledgerText = await fileOrLink(document.getElementById("ledger-file"),
          document.getElementById("ledger-link"));
        const outcome = await verify(proofText, ledgerText);
        if (outcome.problems.length === 0) {
          show(result, true, `match: ${outcome.draws_checked} draw(s) recomputed, same winners`,
            outcome.notes);
        } else {
          show(result, false, "MISMATCH:", outcome.problems);
        }
      } catch (error) {
        show(result, false, "These files cannot be checked: " + error.message, []);
      }
    });
  });
})();
