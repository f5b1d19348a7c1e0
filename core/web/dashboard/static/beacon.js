// The proof's beacon, checked in the browser: the chain it names and each draw's drand round
// signature, with the same rules and the same words as core/features/raffle/beacons/verification.py
// (a browser test compares them). The BLS12-381 arithmetic is @noble/curves
// (static/vendor/noble-bls12-381.js, served by the app itself); the pinned chains are those of
// core/features/raffle/beacons/chains.py (a test checks they are the same).
"use strict";

(function () {
  const CHAINED = "pedersen-bls-chained";
  const UNCHAINED_G1 = "bls-unchained-g1-rfc9380";
  const SCHEMES = [CHAINED, UNCHAINED_G1];
  const DST_G1 = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
  const DST_G2 = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";
  const PINNED = {
    "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971": {
      name: "quicknet",
      scheme: UNCHAINED_G1,
      public_key:
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c" +
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb" +
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
      genesis_time: 1692803367,
      period_seconds: 3,
    },
    "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce": {
      name: "default",
      scheme: CHAINED,
      public_key:
        "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a5699" +
        "37c529eeda66c7293784a9402801af31",
      genesis_time: 1595431050,
      period_seconds: 30,
    },
  };
  const ABSENT =
    "beacon: this proof has no beacon signatures (exported before they were recorded); " +
    "its randomness is taken as written: compare it with a drand relay yourself";

  const present = (v) => v !== undefined && v !== null;
  const lower = (v) => (present(v) ? String(v).toLowerCase() : null);
  const num = (v) => (present(v) ? Number(BigInt(v)) : null);

  function bytes(hex) {
    const text = String(hex).toLowerCase();
    if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) {
      throw new Error("not hexadecimal");
    }
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sha256(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }

  function describe(chainHash) {
    const chain = PINNED[chainHash];
    const short = chainHash.slice(0, 8);
    return chain ? `${chain.name} (${short}...)` : `chain ${short}...`;
  }

  function whoseKey(chain) {
    return chain.pinned ? `the pinned public key of drand ${describe(chain.chain_hash)}`
      : "the public key in the proof";
  }

  function chainOfProof(beacon, problems) {
    const chainHash = String(beacon.chain_hash || "").toLowerCase();
    if (!chainHash) return null;
    const pinned = PINNED[chainHash];
    if (pinned) {
      const named = [
        ["scheme", present(beacon.scheme) ? beacon.scheme : null, pinned.scheme],
        ["public key", lower(beacon.public_key), pinned.public_key],
        ["genesis time", num(beacon.genesis_time), pinned.genesis_time],
        ["period", num(beacon.period_seconds), pinned.period_seconds],
      ];
      for (const [what, value, expected] of named) {
        if (value !== null && value !== expected) {
          problems.push(`the proof names the chain hash of drand ${pinned.name} with another ` +
            `${what} than the pinned one`);
        }
      }
      return { chain_hash: chainHash, scheme: pinned.scheme, public_key: pinned.public_key,
        genesis_time: pinned.genesis_time, period_seconds: pinned.period_seconds, pinned: true };
    }
    const count = problems.length;
    const scheme = String(beacon.scheme || ""), publicKey = lower(beacon.public_key);
    if (!SCHEMES.includes(scheme)) problems.push(`the beacon's scheme '${scheme}' is not supported`);
    if (!publicKey) {
      problems.push(`the beacon's chain ${chainHash.slice(0, 8)}... is not pinned and the proof ` +
        "has no public_key to check its signatures with");
    }
    if (problems.length > count) return null;
    return { chain_hash: chainHash, scheme: scheme, public_key: publicKey,
      genesis_time: num(beacon.genesis_time), period_seconds: num(beacon.period_seconds),
      pinned: false };
  }

  async function signatureVerifies(chain, round, signature, previous) {
    const bls = window.nobleBls12381.bls12_381;
    const number = new Uint8Array(8);
    new DataView(number.buffer).setBigUint64(0, BigInt(round));
    if (chain.scheme === UNCHAINED_G1) {
      const sigs = bls.shortSignatures;
      const message = sigs.hash(await sha256(number), DST_G1);
      return sigs.verify(sigs.Signature.fromHex(signature), message,
        bls.G2.Point.fromHex(chain.public_key));
    }
    const prev = bytes(previous);
    const joined = new Uint8Array(prev.length + 8);
    joined.set(prev, 0);
    joined.set(number, prev.length);
    const sigs = bls.longSignatures;
    const message = sigs.hash(await sha256(joined), DST_G2);
    return sigs.verify(sigs.Signature.fromHex(signature), message,
      bls.G1.Point.fromHex(chain.public_key));
  }

  async function checkDraw(draw, label, chain, problems) {
    const signature = draw.beacon_signature;
    if (chain === null) {
      if (signature) problems.push(`${label} carries a beacon signature, but the proof names no chain`);
      return null;
    }
    const round = BigInt(draw.beacon_round);
    if (!signature) {
      problems.push(`${label} has no beacon_signature, though the proof names a chain`);
      return null;
    }
    const previous = draw.beacon_previous_signature;
    if (chain.scheme === CHAINED && !previous) {
      problems.push(`${label} has no beacon_previous_signature, which the chained scheme signs`);
      return null;
    }
    const count = problems.length;
    const sig = String(signature).toLowerCase();
    let verified = false;
    try {
      const randomness = hex(await sha256(bytes(sig)));
      const written = present(draw.beacon_randomness) ? String(draw.beacon_randomness) : "None";
      if (randomness !== written.toLowerCase()) {
        problems.push(`${label}: the beacon randomness is not SHA-256 of the signature`);
      }
      verified = await signatureVerifies(chain, round, sig, previous);
    } catch (error) {
      verified = false;  // malformed: not hex, not a point, not in the subgroup
    }
    if (!verified) {
      problems.push(`${label}: the signature of beacon round ${round} does not verify against ` +
        whoseKey(chain));
    }
    if (problems.length > count) return null;
    let note = `beacon: the signature of round ${round} was checked against ${whoseKey(chain)}`;
    if (!chain.pinned) {
      note += `; chain ${chain.chain_hash.slice(0, 8)}... is not pinned, so whoever ran the bot ` +
        "could have made that key";
    }
    return note;
  }

  window.streamkeeperBeacon = {
    ABSENT: ABSENT,
    PINNED: PINNED,
    chainOfProof: chainOfProof,
    checkDraw: checkDraw,
    describe: describe,
  };
})();
