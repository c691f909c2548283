"""What one example of the adversarial campaign sends: a program of steps (messages), drawn
by hypothesis from scenario blocks. Each block is a real-world situation from issue 13:

- mint / transfer / burn: ordinary traffic, identifiers written every way (IBAN with its BBAN in
  lower case, BIC8 or BIC11 `XXX`), optional ids (UETR, TxId, InstrId) present or not;
- not_provided: several transactions of one message with EndToEndId `NOTPROVIDED`, no UETR,
  no TxId (allowed from .08), sometimes identical in content;
- resend: an earlier message again, the same bytes or serialised another way;
- pair: one payment reaching the bridge twice, as its pacs.008 and as the omnibus statement
  entry booking its fiat (either first, sharing a UETR, EndToEndId + amount, AcctSvcrRef), and
  sometimes a second statement booking the same entry again;
- eod: an end-of-day omnibus statement of everything applied so far (built when it runs);
- foreign_debit / unlisted / foreign_statement: another bank (listed or not) attempting
  transfers and burns of our customers' tokens, and omnibus statements;
- overflow: 18-digit amounts until a balance or the supply would pass 2^63-1;
- reserved: the omnibus account as debtor or creditor, a payment from a wallet to itself;
- othr: `Othr/Id` accounts with and without the right scheme, look-alike accounts at another bank;
- statement_parts: omnibus batch entries with a 0.00 part or parts with one decimal too many;
- returns: a payment sent earlier returned (pacs.004) in full or in parts, the parts sometimes
  adding up to more than it, the same return id again (same or other amount), in another
  currency, from the issuer or from another bank.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

from campaign_messages import (CUSTOMERS, ELSEWHERE, EXPONENT, FOREIGN, ISSUER, LEGACY,
                               NOT_PROVIDED, OMNIBUS, UNLISTED, Acct, Camt053,
                               CreditTransfer, Customer, Entry, Pacs004, Pacs008, Part, ReturnedTx,
                               Style, major, render, wallets_of)

PACS_VERSIONS = ("02", "08", "09", "10", "11", "12", "13", "14")
LATER_VERSIONS = PACS_VERSIONS[1:]  # TxId and UETR optional
HUGE = 10 ** 18 - 1  # the largest amount an XSD-valid message carries (18 digits)
REGISTRY_FORMS = ("canonical", "lower", "grouped", "grouped-lower")


@dataclass(frozen=True)
class EndOfDay:
    """An omnibus statement of every payment the campaign applied so far in a currency, built
    when the step runs (what is applied depends on the run)."""

    currency: str
    version: str
    header: bool
    short_bic: bool


@dataclass(frozen=True)
class Step:
    message: Pacs008 | Camt053 | Pacs004 | EndOfDay
    intent: str
    style: Style = Style()
    same_bytes_as: int | None = None  # an exact resend of that earlier step

    def __repr__(self) -> str:
        again = f" = bytes of step {self.same_bytes_as}" if self.same_bytes_as is not None else ""
        styled = f" {self.style}" if self.style != Style() else ""
        return f"\n  [{self.intent}{again}{styled}] {self.message!r}"


@dataclass(frozen=True)
class Program:
    registry_forms: tuple[str, ...]  # how each CUSTOMERS row is written in the registry
    steps: tuple[Step, ...]
    never_minted: frozenset[int] = frozenset()  # statement parts that must not mint (0.00, x.xx5)

    def __repr__(self) -> str:
        return f"Program(registry={self.registry_forms}, steps={''.join(map(repr, self.steps))})"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # hypothesis prints a failing example so
        printer.text(repr(self))


@dataclass
class _Builder:
    draw: object
    steps: list[Step] = field(default_factory=list)
    pending: list[Step] = field(default_factory=list)
    never_minted: set[int] = field(default_factory=set)
    next_pid: int = 1
    next_msg: int = 1

    # -- small draws --------------------------------------------------------------------

    def pid(self) -> int:
        self.next_pid += 1
        return self.next_pid - 1

    def msg_id(self, kind: str = "M") -> str:
        self.next_msg += 1
        return f"CMP-{kind}{self.next_msg - 1:04d}"

    def flag(self, p_true: float = 0.5) -> bool:
        return self.draw(st.integers(0, 99)) < p_true * 100

    def bic(self, bic: str) -> str:
        return bic[:8] if self.flag(0.3) else bic

    def uuid(self) -> str:
        return str(self.draw(st.uuids(version=4)))

    def amount(self, currency: str, top: int | None = None) -> int:
        top = top or {"EUR": 1_000_000, "JPY": 10_000_000, "KWD": 10_000_000}[currency]
        return self.draw(st.one_of(st.integers(1, top), st.sampled_from([1, 100, top // 2, top])))

    def customer(self, currency: str | None = None) -> Customer:
        choices = [c for c in CUSTOMERS if c.status == "active" and (currency is None or c.currency == currency)]
        return self.draw(st.sampled_from(choices))

    def written(self, customer: Customer) -> Acct:
        """Our customer's account as a sender writes it (the BBAN in lower case, sometimes)."""
        return customer.account.lower() if self.flag(0.4) else customer.account

    def elsewhere(self, currency: str, bank: str | None = None) -> tuple[Acct, str]:
        choices = [e for e in ELSEWHERE[currency] if bank is None or e[1] == bank]
        return self.draw(st.sampled_from(choices))

    def ids(self, pid: int, version: str) -> dict:
        later = version != "02"
        return dict(end_to_end_id=f"E2E-{pid}",
                    tx_id=f"TX-{pid}" if not later or self.flag(0.7) else None,
                    uetr=self.uuid() if later and self.flag(0.6) else None,
                    instr_id=f"IN-{pid}" if self.flag(0.3) else None)

    def send(self, transactions, intent: str, sender: str, *, version: str | None = None,
             header: bool | None = None) -> Pacs008:
        """A pacs.008 from `sender`: its AppHdr `Fr` (and the GrpHdr InstgAgt, or not), or a
        bare Document whose GrpHdr InstgAgt names the sender."""
        version = version or self.version()
        header = self.flag() if header is None else header
        group_agent = self.bic(sender) if not header or self.flag(0.6) else None
        message = Pacs008(version, self.msg_id(), tuple(transactions), group_agent,
                          self.bic(sender) if header else None, self.bic(ISSUER),
                          control_sum=self.flag(0.7))
        self.steps.append(Step(message, intent))
        return message

    def version(self, versions: tuple[str, ...] = PACS_VERSIONS) -> str:
        return self.draw(st.sampled_from(versions))

    def count(self, most: int) -> range:
        return range(self.draw(st.integers(1, most)))

    # -- blocks ---------------------------------------------------------------------------

    def mint_tx(self, version: str, sender: str, customer: Customer | None = None,
                amount: int | None = None) -> CreditTransfer:
        customer = customer or self.customer()
        currency = customer.currency
        if sender == ISSUER:
            debtor, debtor_agent = LEGACY[currency], ISSUER
        else:
            debtor, debtor_agent = self.elsewhere(currency, FOREIGN)
        pid = self.pid()
        return CreditTransfer(pid, currency, amount or self.amount(currency), debtor, self.bic(debtor_agent),
                              self.written(customer), self.bic(ISSUER), **self.ids(pid, version))

    def mint(self) -> None:
        sender = self.draw(st.sampled_from([FOREIGN, ISSUER]))
        version = self.version()
        self.send([self.mint_tx(version, sender) for _ in self.count(3)], "mint", sender, version=version)

    def transfer_tx(self, version: str, debtor: Customer | None = None) -> CreditTransfer:
        currency = debtor.currency if debtor else self.draw(st.sampled_from(["EUR", "JPY", "KWD"]))
        debtor = debtor or self.customer(currency)
        creditor = self.draw(st.sampled_from([c for c in wallets_of(currency) if c.wallet != debtor.wallet]))
        pid = self.pid()
        return CreditTransfer(pid, currency, self.amount(currency, 400_000), self.written(debtor),
                              self.bic(ISSUER), self.written(creditor), self.bic(ISSUER),
                              **self.ids(pid, version))

    def burn_tx(self, version: str, debtor: Customer | None = None) -> CreditTransfer:
        debtor = debtor or self.customer()
        creditor, agent = self.elsewhere(debtor.currency)
        pid = self.pid()
        return CreditTransfer(pid, debtor.currency, self.amount(debtor.currency, 400_000),
                              self.written(debtor), self.bic(ISSUER), creditor, self.bic(agent),
                              **self.ids(pid, version))

    def funded(self, customer: Customer) -> None:
        """A mint first, so that a debit of `customer` has tokens to move."""
        version = self.version()
        self.send([self.mint_tx(version, FOREIGN, customer, 5_000_000)], "mint", FOREIGN, version=version)

    def transfer(self) -> None:
        debtor = self.customer()
        if self.flag(0.7):
            self.funded(debtor)
        version = self.version()
        self.send([self.transfer_tx(version, debtor) for _ in self.count(2)], "transfer", ISSUER,
                  version=version)

    def burn(self) -> None:
        debtor = self.customer()
        if self.flag(0.7):
            self.funded(debtor)
        version = self.version()
        self.send([self.burn_tx(version, debtor)], "burn", ISSUER, version=version)

    def not_provided(self) -> None:
        version = self.version(LATER_VERSIONS)
        sender = self.draw(st.sampled_from([FOREIGN, ISSUER]))
        count = self.draw(st.integers(2, 3))
        alike = self.flag()  # the same debtor, creditor and amount: only their position differs
        first = self.mint_tx(version, sender)
        txs = []
        for _ in range(count):
            tx = first if alike else self.mint_tx(version, sender)
            txs.append(CreditTransfer(self.pid(), tx.currency, tx.amount, tx.debtor, tx.debtor_agent,
                                      tx.creditor, tx.creditor_agent, NOT_PROVIDED))
        self.send(txs, "not-provided", sender, version=version)

    def resend(self) -> None:
        earlier = [(i, s) for i, s in enumerate(self.steps) if not isinstance(s.message, EndOfDay)]
        if not earlier:
            return self.mint()
        index, step = self.draw(st.sampled_from(earlier))
        if self.flag():
            self.steps.append(Step(step.message, "resend-same-bytes", step.style, same_bytes_as=index))
            return None
        first = render(step.message, step.style)
        style = self.draw(st.builds(Style, st.booleans(), st.booleans(), st.booleans(), st.booleans())
                          .filter(lambda s: render(step.message, s) != first))  # other bytes
        self.steps.append(Step(step.message, "resend-reserialised", style))
        return None

    def statement(self, currency: str, entries: list[Entry], intent: str, *, sender: str = ISSUER,
                  servicer: str = ISSUER, header: bool | None = None, version: str | None = None) -> Step:
        version = version or self.draw(st.sampled_from(["02", "08"]))
        header = self.flag() if header is None else header
        message = Camt053(version, self.msg_id("S"), currency, OMNIBUS[currency].account,
                          self.bic(servicer), tuple(entries), self.bic(sender) if header else None,
                          self.bic(ISSUER))
        return Step(message, intent)

    def booking(self, tx: CreditTransfer, version: str, uetr: str | None, msg_id: str,
                acct_ref: str) -> Part:
        """The statement's `TxDtls` for a payment: which references it keeps is the bank's choice,
        but it shares one the brief names with the pacs.008 (the UETR it carries, else the
        EndToEndId with the amount and the account): otherwise nothing tells them apart."""
        keep_uetr = bool(uetr) and version != "02" and self.flag(0.6)
        shares_uetr = keep_uetr and tx.uetr == uetr
        return Part(tx.pid, major(tx.amount, tx.currency),
                    msg_id=msg_id if self.flag(0.6) else None, acct_ref=acct_ref,
                    end_to_end_id=tx.end_to_end_id if not shares_uetr or self.flag(0.7) else None,
                    uetr=uetr if keep_uetr else None,
                    tx_id=tx.tx_id if tx.tx_id and self.flag(0.5) else None,
                    creditor=self.written(self.customer_of(tx)) if self.flag(0.9) else None,
                    debtor=tx.debtor)

    @staticmethod
    def customer_of(tx: CreditTransfer) -> Customer:
        written = tx.creditor
        return next(c for c in CUSTOMERS
                    if (written.iban and c.account.iban == written.iban.upper())
                    or (written.other and c.account.other == written.other))

    def pair(self) -> None:
        version = "02" if self.flag(0.4) else self.version(LATER_VERSIONS)  # .02: no UETR
        tx = self.mint_tx(version, FOREIGN)
        uetr = tx.uetr or (self.uuid() if self.flag(0.5) else None)  # a UETR the pacs.008 may lack
        message = Pacs008(version, self.msg_id(), (tx,), self.bic(FOREIGN),
                          self.bic(FOREIGN) if self.flag() else None, self.bic(ISSUER), self.flag(0.7))
        payment = Step(message, "pair-pacs008")
        acct_ref = f"SVC-{tx.pid}"
        statement_version = self.draw(st.sampled_from(["02", "08"]))
        part = self.booking(tx, statement_version, uetr, message.msg_id, acct_ref)
        entry = Entry(part.amount, True, acct_ref, (part,))
        roads = [payment, self.statement(tx.currency, [entry], "pair-statement", version=statement_version)]
        if self.flag(0.3):  # the same entry in a second statement (a corrected re-issue)
            roads.append(self.statement(tx.currency, [entry], "pair-statement-again", version=statement_version))
        if self.flag(0.6):  # the statement first
            roads[0], roads[1] = roads[1], roads[0]
        self.steps.append(roads[0])
        self.pending.extend(roads[1:])

    def eod(self) -> None:
        self.steps.append(Step(EndOfDay(self.draw(st.sampled_from(["EUR", "JPY", "KWD"])),
                                        self.draw(st.sampled_from(["02", "08"])), self.flag(), self.flag(0.3)),
                               "end-of-day-statement"))

    def foreign_debit(self) -> None:
        debtor = self.customer()
        self.funded(debtor)
        version = self.version()
        tx = self.transfer_tx(version, debtor) if self.flag() else self.burn_tx(version, debtor)
        how = self.draw(st.sampled_from(["apphdr", "instg-agent", "tx-instg-agent"]))
        if how == "tx-instg-agent":  # the issuer's channel relaying another bank's instruction
            tx = replace(tx, instructing_agent=self.bic(FOREIGN))
            self.send([tx], "foreign-debit-tx-instg", ISSUER, version=version)
        else:
            self.send([tx], f"foreign-debit-{how}", FOREIGN, version=version, header=how == "apphdr")

    def unlisted(self) -> None:
        version = self.version()
        tx = self.mint_tx(version, FOREIGN)
        if self.flag():
            tx = replace(tx, debtor_agent=self.bic(UNLISTED))
            self.send([tx], "unlisted-sender", UNLISTED, version=version)
        else:
            tx = replace(tx, instructing_agent=self.bic(UNLISTED))
            self.send([tx], "unlisted-tx-instg", FOREIGN, version=version)

    def foreign_statement(self) -> None:
        customer = self.customer()
        currency = customer.currency
        pid = self.pid()
        amount = {"EUR": 100_000_000, "JPY": 1_000_000_000, "KWD": 1_000_000_000}[currency]
        debtor, _ = self.elsewhere(currency)
        part = Part(pid, major(amount, currency), msg_id=f"FM-{pid}", acct_ref=f"SVC-{pid}",
                    end_to_end_id=f"E2E-{pid}", uetr=self.uuid(), creditor=self.written(customer),
                    debtor=debtor)
        how = self.draw(st.sampled_from(["apphdr", "servicer", "unlisted"]))
        sender = UNLISTED if how == "unlisted" else FOREIGN
        step = self.statement(currency, [Entry(part.amount, True, part.acct_ref, (part,))],
                              f"foreign-statement-{how}", sender=sender,
                              servicer=FOREIGN if how == "servicer" else ISSUER, header=how != "servicer")
        self.steps.append(step)

    def overflow(self) -> None:
        customer = self.customer()
        other = self.draw(st.sampled_from(wallets_of(customer.currency)))
        if self.flag(0.3):  # one message whose amounts add up past 2^63-1
            version = self.version()
            self.send([self.mint_tx(version, FOREIGN, customer, HUGE) for _ in range(10)], "huge-mint-sum",
                      FOREIGN, version=version)
        for _ in range(self.draw(st.integers(4, 6))):  # 10 of them pass 2^63-1
            version = self.version()
            sender = self.draw(st.sampled_from([FOREIGN, ISSUER]))
            txs = [self.mint_tx(version, sender, self.draw(st.sampled_from([customer, other])),
                                self.draw(st.one_of(st.just(HUGE), st.integers(8 * 10 ** 17, HUGE))))
                   for _ in range(self.draw(st.integers(1, 3)))]
            self.send(txs, "huge-mint", sender, version=version)
        version = self.version()
        self.send([self.mint_tx(version, FOREIGN, customer)], "mint-after-huge", FOREIGN, version=version)

    def reserved(self) -> None:
        customer = self.customer()
        self.funded(customer)
        currency = customer.currency
        omnibus = OMNIBUS[currency].account
        version = self.version()
        pid = self.pid()
        ids = self.ids(pid, version)
        how = self.draw(st.sampled_from(["omnibus-debtor", "omnibus-creditor", "same-account", "same-wallet"]))
        amount = self.amount(currency, 100_000)
        issuer = self.bic(ISSUER)
        if how == "omnibus-debtor":
            sender = self.draw(st.sampled_from([ISSUER, FOREIGN]))
            tx = CreditTransfer(pid, currency, amount, omnibus, issuer, self.written(customer), issuer, **ids)
        elif how == "omnibus-creditor":
            sender = ISSUER
            tx = CreditTransfer(pid, currency, amount, self.written(customer), issuer, omnibus, issuer, **ids)
        else:
            sender = ISSUER
            twins = [c for c in CUSTOMERS if c.wallet == customer.wallet and c is not customer]
            creditor = self.written(twins[0]) if how == "same-wallet" and twins else self.written(customer)
            tx = CreditTransfer(pid, currency, amount, self.written(customer), issuer, creditor, issuer, **ids)
        self.send([tx], f"reserved-{how}", sender, version=version)

    def othr(self) -> None:
        version = self.version()
        customer = self.draw(st.sampled_from([c for c in CUSTOMERS if c.account.other and c.wallet]))
        account = customer.account
        how = self.draw(st.sampled_from(["right-scheme", "no-scheme", "other-proprietary",
                                         "code-scheme", "other-issuer", "issuer-added-or-dropped",
                                         "look-alike-iban"]))
        written = {"right-scheme": account, "no-scheme": replace(account, scheme=None),
                   "other-proprietary": replace(account, scheme=("Prtry", "OTHERBANK")),
                   "code-scheme": replace(account, scheme=("Cd", "CUID")),
                   "other-issuer": replace(account, issuer="ANOTHER BANK PLC"),
                   "issuer-added-or-dropped": replace(account, issuer=None if account.issuer else "TOKENBANK AG")}
        tx = self.mint_tx(version, FOREIGN, customer)
        if how == "look-alike-iban":  # our customer's IBAN, but the creditor's agent is another bank
            ibans = [c for c in CUSTOMERS if c.account.iban and c.status == "active"]
            lookalike = self.draw(st.sampled_from(ibans))
            tx = replace(self.mint_tx(version, FOREIGN, lookalike), creditor_agent="BPKOPLPWXXX")
        else:
            tx = replace(tx, creditor=written[how])
        self.send([tx], f"othr-{how}", FOREIGN, version=version)

    def statement_parts(self) -> None:
        currency = self.draw(st.sampled_from(["EUR", "KWD"]))
        customer = self.customer(currency)
        how = self.draw(st.sampled_from(["zero-part", "sub-minor-parts"]))
        parts = []
        if how == "zero-part":
            zero = self.pid()
            self.never_minted.add(zero)
            parts.append(Part(zero, major(0, currency), acct_ref=f"SVC-{zero}", end_to_end_id=f"E2E-{zero}",
                              msg_id=f"ZM-{zero}", creditor=self.written(customer)))
            version = self.version()
            tx = self.mint_tx(version, FOREIGN, customer)
            parts.append(Part(tx.pid, major(tx.amount, currency), acct_ref=f"SVC-{tx.pid}",
                              end_to_end_id=tx.end_to_end_id, uetr=tx.uetr, tx_id=tx.tx_id,
                              creditor=self.written(customer), debtor=tx.debtor))
            total = tx.amount
            if self.flag():  # its pacs.008 too, later: still one mint
                later = Pacs008(version, f"PM-{tx.pid}", (tx,), self.bic(FOREIGN))
                self.pending.append(Step(later, "pair-pacs008"))
        else:  # two parts with one decimal more than the currency has, adding up to whole minor units
            tenths = self.draw(st.integers(1, 9))
            first = self.draw(st.integers(0, 10_000)) * 10 + tenths
            second = self.draw(st.integers(0, 10_000)) * 10 + (10 - tenths)
            exponent = EXPONENT[currency] + 1
            for value in (first, second):
                pid = self.pid()
                self.never_minted.add(pid)
                text = f"{value // 10 ** exponent}.{value % 10 ** exponent:0{exponent}d}"
                parts.append(Part(pid, text, acct_ref=f"SVC-{pid}", end_to_end_id=f"E2E-{pid}",
                                  msg_id=f"FM-{pid}", creditor=self.written(customer)))
            total = (first + second) // 10
        entry = Entry(major(total, currency), True, f"SVC-B{self.next_pid}", tuple(parts))
        self.steps.append(self.statement(currency, [entry], f"statement-{how}"))


    def returns(self) -> None:
        sent = [(step.message, tx) for step in self.steps if step.intent in ("mint", "transfer", "burn")
                for tx in step.message.transactions if tx.end_to_end_id != NOT_PROVIDED]
        if not sent:
            self.draw(st.sampled_from([self.mint, self.transfer, self.burn]))()
            return self.returns()
        message, tx = self.draw(st.sampled_from(sent))
        rids: list[str] = []
        for _ in self.count(3):
            amount = self.draw(st.sampled_from([tx.amount, max(1, tx.amount // 2), tx.amount + 1,
                                                self.draw(st.integers(1, tx.amount))]))
            # flag() draws lean towards True: the common case is its True side
            rid = self.draw(st.sampled_from(rids)) if rids and not self.flag(0.8) else f"RT{self.pid()}"
            rids.append(rid)
            currency = (tx.currency if self.flag(0.9) else
                        self.draw(st.sampled_from([c for c in ("EUR", "JPY", "KWD") if c != tx.currency])))
            by_uetr = tx.uetr is not None and self.flag()
            returned = ReturnedTx(rid, tx.pid, currency, amount, None if by_uetr else message.msg_id,
                                  None if by_uetr else tx.end_to_end_id, tx.uetr if by_uetr else None)
            sender = ISSUER if self.flag(0.8) else self.draw(st.sampled_from([FOREIGN, UNLISTED]))
            header = self.flag()
            self.steps.append(Step(Pacs004(self.draw(st.sampled_from(RETURN_VERSIONS)), self.msg_id("R"),
                                           (returned,), self.bic(sender) if not header or self.flag() else None,
                                           self.bic(sender) if header else None), "return"))
        return None


RETURN_VERSIONS = tuple(f"{n:02d}" for n in range(9, 16))  # OrgnlUETR from .09

BLOCKS = ("mint", "transfer", "burn", "not_provided", "resend", "pair", "eod", "foreign_debit",
          "unlisted", "foreign_statement", "overflow", "reserved", "othr", "statement_parts", "returns")


@st.composite
def programs(draw, blocks: tuple[str, ...] = BLOCKS, max_blocks: int = 8) -> Program:
    """A program: the registry as written, then messages from `blocks`, the second road of a
    payment released some blocks later."""
    builder = _Builder(draw)
    forms = tuple(draw(st.sampled_from(REGISTRY_FORMS)) for _ in CUSTOMERS)
    for _ in range(draw(st.integers(1, max_blocks))):
        getattr(builder, draw(st.sampled_from(blocks)))()
        if builder.pending and draw(st.booleans()):
            builder.steps.append(builder.pending.pop(0))
    builder.steps.extend(builder.pending)
    return Program(forms, tuple(builder.steps), frozenset(builder.never_minted))
