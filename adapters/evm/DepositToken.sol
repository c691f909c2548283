// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title A bank's deposit token in one currency: a 1:1 claim on a deposit at the issuing bank.
/// @notice ERC-20 for reading (balances, supply, Transfer events). Only the issuer moves tokens:
/// it mints when fiat arrives, burns on redemption and transfers between the customer wallets it
/// operates (the customer's instruction is the pacs.008). Every operation carries a bytes32
/// payment reference derived from the payment's idempotency key; a reference is used once only.
/// The issuer may name its payment-versus-payment settlement contract (PvpSettlement.sol), which
/// may then move tokens between wallets too: the legs of a payment across two currencies, both
/// in one transaction or neither.
/// Holds (in the spirit of ERC-1996 holdable tokens): the issuer reserves an amount of a wallet
/// under a hold reference for a payment that settles later (value-dated, conditional); the
/// amount stays in `balanceOf` but no transfer or burn can take it (available = balance - held)
/// until the issuer executes the hold (the payment settles, under its own payment reference) or
/// voids it, exactly once.
contract DepositToken {
    enum HoldStatus { None, Held, Executed, Voided }

    struct Hold {
        address from;
        uint64 expiry; // unix seconds: the bridge's scheduler executes or voids it then
        HoldStatus status;
        address to; // 0: executing burns (a redemption)
        uint256 amount;
    }

    string public name;
    string public symbol;
    /// The currency's ISO 4217 minor units (EUR 2, JPY 0, KWD 3): one token unit is one cent.
    uint8 public immutable decimals;
    address public immutable issuer;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    /// The block in which each payment reference was settled; 0 when it never was.
    mapping(bytes32 => uint256) public settledIn;
    /// The issuer's PvP settlement contract; 0 when none is named.
    address public settlement;
    /// Of each balance, what holds reserve.
    mapping(address => uint256) public heldBalanceOf;
    /// Holds by their reference (bytes32, from the bridge's hold key); a reference is used once.
    mapping(bytes32 => Hold) public holds;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    /// One per operation: mint (from = 0), transfer, burn (to = 0), with its payment reference.
    event Settled(bytes32 indexed paymentRef, address indexed from, address indexed to, uint256 amount);
    event SettlementNamed(address indexed settlement);
    event HoldPlaced(bytes32 indexed holdRef, address indexed from, address indexed to, uint256 amount,
        uint256 expiry);
    event HoldExecuted(bytes32 indexed holdRef, bytes32 indexed paymentRef);
    event HoldVoided(bytes32 indexed holdRef);

    error NotIssuer(address caller);
    error ReferenceUsed(bytes32 paymentRef);
    error InsufficientBalance(address wallet, uint256 balance, uint256 needed);
    error ZeroAmount();
    error ZeroWallet();
    error ZeroReference();
    error HolderTransfersDisabled();
    error HoldExists(bytes32 holdRef);
    error HoldNotHeld(bytes32 holdRef);

    modifier onlyIssuer() {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        _;
    }

    /// The issuer, or the settlement contract it named (which only the issuer can call).
    modifier onlyIssuerOrSettlement() {
        if (msg.sender != issuer && (settlement == address(0) || msg.sender != settlement)) {
            revert NotIssuer(msg.sender);
        }
        _;
    }

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address issuer_) {
        if (issuer_ == address(0)) revert ZeroWallet();
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        issuer = issuer_;
    }

    /// Fiat arrived at the bank: issue `amount` tokens to `to`.
    function mint(address to, uint256 amount, bytes32 paymentRef) external onlyIssuer {
        _settle(paymentRef, amount);
        if (to == address(0)) revert ZeroWallet();
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
        emit Settled(paymentRef, address(0), to, amount);
    }

    /// Tokens redeemed (fiat leaves on legacy rails): destroy `amount` tokens of `from`.
    function burn(address from, uint256 amount, bytes32 paymentRef) external onlyIssuer {
        _settle(paymentRef, amount);
        _debit(from, amount);
        totalSupply -= amount;
        emit Transfer(from, address(0), amount);
        emit Settled(paymentRef, from, address(0), amount);
    }

    /// Name the issuer's PvP settlement contract (0: none).
    function setSettlement(address settlement_) external onlyIssuer {
        settlement = settlement_;
        emit SettlementNamed(settlement_);
    }

    /// An on-ledger payment between two customer wallets the bank operates (or one leg of a
    /// payment across currencies, through the settlement contract).
    function transferBetween(address from, address to, uint256 amount, bytes32 paymentRef)
        external
        onlyIssuerOrSettlement
    {
        _settle(paymentRef, amount);
        if (to == address(0)) revert ZeroWallet();
        _debit(from, amount);
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        emit Settled(paymentRef, from, to, amount);
    }

    // -- holds ----------------------------------------------------------------------------------

    /// Reserve `amount` of `from` for a payment to `to` (0: a burn) settling later.
    function hold(bytes32 holdRef, address from, address to, uint256 amount, uint64 expiry)
        external
        onlyIssuer
    {
        if (holdRef == bytes32(0)) revert ZeroReference();
        if (holds[holdRef].status != HoldStatus.None) revert HoldExists(holdRef);
        if (amount == 0) revert ZeroAmount();
        if (from == address(0)) revert ZeroWallet();
        uint256 available = availableBalanceOf(from);
        if (available < amount) revert InsufficientBalance(from, available, amount);
        heldBalanceOf[from] += amount;
        holds[holdRef] = Hold(from, expiry, HoldStatus.Held, to, amount);
        emit HoldPlaced(holdRef, from, to, amount, expiry);
    }

    /// Settle a held payment under its payment reference: the reserve goes to `to` (or is burnt).
    function executeHold(bytes32 holdRef, bytes32 paymentRef) external onlyIssuer {
        Hold storage h = _held(holdRef);
        _settle(paymentRef, h.amount);
        h.status = HoldStatus.Executed;
        (address from, address to, uint256 amount) = (h.from, h.to, h.amount);
        heldBalanceOf[from] -= amount;
        _debit(from, amount);
        if (to == address(0)) {
            totalSupply -= amount;
        } else {
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
        emit Settled(paymentRef, from, to, amount);
        emit HoldExecuted(holdRef, paymentRef);
    }

    /// End a hold without a payment: its reserve is available again.
    function voidHold(bytes32 holdRef) external onlyIssuer {
        Hold storage h = _held(holdRef);
        h.status = HoldStatus.Voided;
        heldBalanceOf[h.from] -= h.amount;
        emit HoldVoided(holdRef);
    }

    /// What transfers and burns may take from a wallet.
    function availableBalanceOf(address wallet) public view returns (uint256) {
        return balanceOf[wallet] - heldBalanceOf[wallet];
    }

    // -- ERC-20: holders cannot move tokens themselves; the bank operates the wallets ---------

    function allowance(address, address) external pure returns (uint256) {
        return 0;
    }

    function approve(address, uint256) external pure returns (bool) {
        revert HolderTransfersDisabled();
    }

    function transfer(address, uint256) external pure returns (bool) {
        revert HolderTransfersDisabled();
    }

    function transferFrom(address, address, uint256) external pure returns (bool) {
        revert HolderTransfersDisabled();
    }

    // -- internals --------------------------------------------------------------------------

    function _settle(bytes32 paymentRef, uint256 amount) private {
        if (paymentRef == bytes32(0)) revert ZeroReference();
        if (settledIn[paymentRef] != 0) revert ReferenceUsed(paymentRef);
        if (amount == 0) revert ZeroAmount();
        settledIn[paymentRef] = block.number;
    }

    /// Take `amount` of what is available (a hold's own reserve is released before).
    function _debit(address from, uint256 amount) private {
        uint256 available = availableBalanceOf(from);
        if (available < amount) revert InsufficientBalance(from, available, amount);
        unchecked {
            balanceOf[from] -= amount;
        }
    }

    function _held(bytes32 holdRef) private view returns (Hold storage h) {
        h = holds[holdRef];
        if (h.status != HoldStatus.Held) revert HoldNotHeld(holdRef);
    }
}
