/**
 * A restricted Python unpickler for the subset of the pickle format that `torch.save` writes (protocols 2 to 5).
 *
 * It never executes anything: `GLOBAL`/`STACK_GLOBAL` produce {@link PickleGlobal} references, and the caller
 * decides, in `resolveCall`, which of them may be called by `REDUCE`/`NEWOBJ` and what they build. Persistent
 * ids (`BINPERSID`, how torch.save refers to tensor storages) go to `persistentLoad`. Dicts become `Map`s so that
 * integer keys (optimizer state) survive; tuples and lists become arrays.
 */

/** A reference to a Python class or function, as `GLOBAL` names it (`collections.OrderedDict`). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Thrown for malformed pickles, unsupported opcodes and globals the caller does not allow. */
export class PickleError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (pickle byte offset ${offset})`);
    this.name = 'PickleError';
  }
}

export interface UnpickleHooks {
  /** Builds the object for `callable(...args)` (REDUCE, NEWOBJ); throws to reject the callable. */
  resolveCall(callable: PickleGlobal, args: unknown[]): unknown;
  /** Applies a BUILD state to an object; returns the object to keep on the stack. */
  build?(target: unknown, state: unknown): unknown;
  /** Resolves a persistent id (BINPERSID / PERSID). */
  persistentLoad(pid: unknown): unknown;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const latin1Decoder = new TextDecoder('latin1');

/** Unpickles `bytes`, returning the value that `STOP` leaves on the stack. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const markStack: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const need = (count: number, at: number): void => {
    if (pos + count > bytes.length) throw new PickleError('pickle data ends in the middle of an opcode', at);
  };
  const readU8 = (at: number): number => {
    need(1, at);
    return bytes[pos++];
  };
  const readU16 = (at: number): number => {
    need(2, at);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const readU32 = (at: number): number => {
    need(4, at);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const readI32 = (at: number): number => {
    need(4, at);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const readU64 = (at: number): number => {
    need(8, at);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError('8-byte length too large', at);
    return Number(v);
  };
  const readBytes = (count: number, at: number): Uint8Array => {
    need(count, at);
    const out = bytes.subarray(pos, pos + count);
    pos += count;
    return out;
  };
  const readLine = (at: number): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('pickle data ends before a newline-terminated argument', at);
    const line = latin1Decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return line;
  };
  const pop = (at: number): unknown => {
    if (stack.length === 0) throw new PickleError('pickle stack underflow', at);
    return stack.pop();
  };
  const popMark = (at: number): unknown[] => {
    const start = markStack.pop();
    if (start === undefined) throw new PickleError('opcode needs a MARK but none is set', at);
    return stack.splice(start);
  };
  const top = (at: number): unknown => {
    if (stack.length === 0) throw new PickleError('pickle stack underflow', at);
    return stack[stack.length - 1];
  };
  const memoGet = (key: number, at: number): unknown => {
    if (!memo.has(key)) throw new PickleError(`memo key ${key} was never stored`, at);
    return memo.get(key);
  };
  const setItems = (target: unknown, items: unknown[], at: number): void => {
    if (!(target instanceof Map)) throw new PickleError('SETITEM(S) on a value that is not a dict', at);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[], at: number): void => {
    if (!Array.isArray(target)) throw new PickleError('APPEND(S) on a value that is not a list', at);
    target.push(...items);
  };
  const decodeLong = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
    if (raw[raw.length - 1] & 0x80) value -= 1n << BigInt(raw.length * 8);
    const asNumber = Number(value);
    return Number.isSafeInteger(asNumber) ? asNumber : value;
  };
  const callGlobal = (callable: unknown, args: unknown, at: number): unknown => {
    if (!(callable instanceof PickleGlobal))
      throw new PickleError('REDUCE on a value that is not a global', at);
    if (!Array.isArray(args))
      throw new PickleError(`REDUCE arguments of ${callable.qualifiedName} are not a tuple`, at);
    return hooks.resolveCall(callable, args);
  };

  for (;;) {
    const at = pos;
    const op = readU8(at);
    switch (op) {
      case 0x80: // PROTO
        readU8(at);
        break;
      case 0x95: // FRAME (protocol 4): frames only group opcodes, nothing to do
        readU64(at);
        break;
      case 0x2e: // STOP
        return pop(at);
      case 0x28: // MARK
        markStack.push(stack.length);
        break;
      case 0x30: // POP
        if (markStack.length > 0 && markStack[markStack.length - 1] === stack.length) markStack.pop();
        else pop(at);
        break;
      case 0x31: // POP_MARK
        popMark(at);
        break;
      case 0x32: // DUP
        stack.push(top(at));
        break;

      // Memo
      case 0x71: // BINPUT
        memo.set(readU8(at), top(at));
        break;
      case 0x72: // LONG_BINPUT
        memo.set(readU32(at), top(at));
        break;
      case 0x70: // PUT
        memo.set(Number(readLine(at)), top(at));
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top(at));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(readU8(at), at));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(readU32(at), at));
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(readLine(at)), at));
        break;

      // Constants and numbers
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(readU8(at));
        break;
      case 0x4d: // BININT2
        stack.push(readU16(at));
        break;
      case 0x4a: // BININT
        stack.push(readI32(at));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(readBytes(readU8(at), at)));
        break;
      case 0x8b: // LONG4
        stack.push(decodeLong(readBytes(readU32(at), at)));
        break;
      case 0x49: {
        // INT (text): "00" and "01" are False and True in protocol 0
        const text = readLine(at);
        stack.push(text === '00' ? false : text === '01' ? true : Number(text));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number(readLine(at).replace(/L$/, '')));
        break;
      case 0x47: {
        // BINFLOAT: big-endian float64
        need(8, at);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: // FLOAT (text)
        stack.push(Number(readLine(at)));
        break;

      // Strings and bytes
      case 0x58: // BINUNICODE
        stack.push(textDecoder.decode(readBytes(readU32(at), at)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(textDecoder.decode(readBytes(readU8(at), at)));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(textDecoder.decode(readBytes(readU64(at), at)));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text line, ASCII subset)
        stack.push(readLine(at));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1Decoder.decode(readBytes(readI32(at), at)));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1Decoder.decode(readBytes(readU8(at), at)));
        break;
      case 0x42: // BINBYTES
        stack.push(readBytes(readU32(at), at).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(readBytes(readU8(at), at).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(readBytes(readU64(at), at).slice());
        break;

      // Containers
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x85: // TUPLE1
        stack.push([pop(at)]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop(at);
        const a = pop(at);
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop(at);
        const b = pop(at);
        const a = pop(at);
        stack.push([a, b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark(at));
        break;
      case 0x64: {
        // DICT
        const items = popMark(at);
        const dict = new Map();
        setItems(dict, items, at);
        stack.push(dict);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark(at)));
        break;
      case 0x73: {
        // SETITEM
        const value = pop(at);
        const key = pop(at);
        setItems(top(at), [key, value], at);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark(at);
        setItems(top(at), items, at);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop(at);
        appendItems(top(at), [value], at);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark(at);
        appendItems(top(at), items, at);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark(at);
        const target = top(at);
        if (!(target instanceof Set)) throw new PickleError('ADDITEMS on a value that is not a set', at);
        for (const item of items) target.add(item);
        break;
      }

      // Objects
      case 0x63: {
        // GLOBAL
        const module = readLine(at);
        const name = readLine(at);
        stack.push(new PickleGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop(at);
        const module = pop(at);
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new PickleError('STACK_GLOBAL expects two strings', at);
        }
        stack.push(new PickleGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop(at);
        const callable = pop(at);
        stack.push(callGlobal(callable, args, at));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop(at);
        const cls = pop(at);
        stack.push(callGlobal(cls, args, at));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX: keyword arguments are not used by the classes torch.save writes
        pop(at);
        const args = pop(at);
        const cls = pop(at);
        stack.push(callGlobal(cls, args, at));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop(at);
        const target = pop(at);
        stack.push(hooks.build ? hooks.build(target, state) : target);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop(at)));
        break;
      case 0x50: // PERSID
        stack.push(hooks.persistentLoad(readLine(at)));
        break;

      default:
        throw new PickleError(
          `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}')`,
          at,
        );
    }
  }
}
