#!/usr/bin/env node
// Compiles DepositToken.sol and PvpSettlement.sol offline with the solc (solcjs) version pinned
// in package-lock.json and writes <Contract>.json for each: ABI, bytecode, compiler version,
// settings and source hash.
//   node compile.js          write the artifacts
//   node compile.js --check  recompile and exit 1 if a committed artifact differs (CI)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const CONTRACTS = ['DepositToken', 'PvpSettlement'];
// Pinned so that a newer compiler's default (prague, osaka, ...) never changes the bytecode.
const EVM_VERSION = 'cancun';
const OPTIMIZER = { enabled: true, runs: 200 };

function compile(CONTRACT) {
  const SOURCE = `${CONTRACT}.sol`;
  const source = fs.readFileSync(path.join(__dirname, SOURCE), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { [SOURCE]: { content: source } },
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: OPTIMIZER,
      outputSelection: { [SOURCE]: { [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) process.stderr.write(e.formattedMessage + '\n');
  if (errors.length) process.exit(2);
  const compiled = output.contracts[SOURCE][CONTRACT];
  const artifact = {
    contractName: CONTRACT,
    sourceFile: SOURCE,
    sourceSha256: crypto.createHash('sha256').update(source, 'utf8').digest('hex'),
    compiler: { name: 'solc', version: solc.version(), evmVersion: EVM_VERSION, optimizer: OPTIMIZER },
    abi: compiled.abi,
    bytecode: '0x' + compiled.evm.bytecode.object,
    deployedBytecode: '0x' + compiled.evm.deployedBytecode.object,
  };
  return JSON.stringify(artifact, null, 2) + '\n';
}

for (const CONTRACT of CONTRACTS) {
  const SOURCE = `${CONTRACT}.sol`;
  const ARTIFACT = path.join(__dirname, `${CONTRACT}.json`);
  const fresh = compile(CONTRACT);
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(ARTIFACT) ? fs.readFileSync(ARTIFACT, 'utf8') : '';
    if (committed !== fresh) {
      process.stderr.write(`${path.basename(ARTIFACT)} differs from a fresh compilation of ${SOURCE}: ` +
        'run `npm run compile` in adapters/evm and commit the result\n');
      process.exit(1);
    }
    process.stdout.write(`${path.basename(ARTIFACT)} matches ${SOURCE} (solc ${solc.version()})\n`);
  } else {
    fs.writeFileSync(ARTIFACT, fresh);
    process.stdout.write(`wrote ${path.basename(ARTIFACT)} (solc ${solc.version()}, ${EVM_VERSION})\n`);
  }
}
