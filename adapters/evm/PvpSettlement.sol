// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// The one call of a deposit token the settlement makes.
interface IDepositToken {
    function transferBetween(address from, address to, uint256 amount, bytes32 paymentRef) external;
}

/// @title Payment versus payment between two of the issuer's deposit tokens.
/// @notice A payment across currencies moves the debtor's tokens to the bank's FX position in
/// that currency and pays the creditor from the bank's FX position in the other: both legs in
/// this one transaction, or neither (a leg that reverts, e.g. InsufficientBalance, reverts the
/// whole transaction with its error). Only the issuer calls it; each token must have named this
/// contract as its settlement (DepositToken.setSettlement). Each leg keeps its own payment
/// reference and emits its own Settled event on its token.
contract PvpSettlement {
    address public immutable issuer;

    /// One per payment settled: the references of its two legs.
    event Exchanged(bytes32 indexed debitRef, bytes32 indexed creditRef);

    error NotIssuer(address caller);
    error ZeroWallet();

    constructor(address issuer_) {
        if (issuer_ == address(0)) revert ZeroWallet();
        issuer = issuer_;
    }

    /// Debit leg on `debitToken` (debtor -> the FX position of its currency), credit leg on
    /// `creditToken` (the FX position of the other currency -> creditor).
    function settle(
        address debitToken, address debtor, address debitPosition, uint256 debitAmount, bytes32 debitRef,
        address creditToken, address creditPosition, address creditor, uint256 creditAmount, bytes32 creditRef
    ) external {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        IDepositToken(debitToken).transferBetween(debtor, debitPosition, debitAmount, debitRef);
        IDepositToken(creditToken).transferBetween(creditPosition, creditor, creditAmount, creditRef);
        emit Exchanged(debitRef, creditRef);
    }
}
