// Lets `npx hardhat node` start a local JSON-RPC node from the checkout (chain id 31337, 20 funded, unlocked
// accounts), for `zkml deploy --rpc-url http://127.0.0.1:8545` and `zkml verify --onchain --rpc-url …`.
// zkml itself never reads this file: its default in-process chain is built in src/chain/provider.ts.
// Hardhat's own folders go under .cache/ (git-ignored). It has no sources to compile: zkml compiles its contracts
// with the pinned solc-js itself (src/chain/solidity.ts), and Hardhat would try to download a compiler.
module.exports = {
  networks: { hardhat: {} },
  paths: { cache: '.cache/hardhat/cache', artifacts: '.cache/hardhat/artifacts' },
};
