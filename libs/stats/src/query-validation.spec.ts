import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from './http-errors';
import { ParameterException } from './parameter-exception';
import { OptionalRangeQueryDto, RangeQueryDto, TopUsersQueryDto } from './query.dto';

// The request pipe keeps the DTO of each query that passed (docs/PERFORMANCE.md): these
// specs hold the kept answers to what a fresh validation would give.
const query = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'query', metatype });

describe('the request pipe, asked the same query again', () => {
  it('answers an equal DTO of the same class, not the same object', async () => {
    const pipe = createValidationPipe();
    const first = (await pipe.transform({ by: 'orders', limit: '5' }, query(TopUsersQueryDto))) as TopUsersQueryDto;
    const second = (await pipe.transform({ by: 'orders', limit: '5' }, query(TopUsersQueryDto))) as TopUsersQueryDto;
    expect(second).toBeInstanceOf(TopUsersQueryDto);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect({ by: second.by, limit: second.limit }).toEqual({ by: 'orders', limit: 5 });
  });

  it('is not changed by a handler that changed an answer it gave from what it kept', async () => {
    const pipe = createValidationPipe();
    await pipe.transform({ limit: '7' }, query(TopUsersQueryDto));
    const kept = (await pipe.transform({ limit: '7' }, query(TopUsersQueryDto))) as { limit: number };
    kept.limit = 99;
    const again = (await pipe.transform({ limit: '7' }, query(TopUsersQueryDto))) as { limit: number };
    expect(again.limit).toBe(7);
  });

  it('validates a query once, and again only after it was dropped for newer ones', async () => {
    const pipe = createValidationPipe();
    const validate = jest.spyOn(pipe as unknown as { validate: (o: object) => unknown }, 'validate');
    const day = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const ask = (i: number): Promise<unknown> => pipe.transform({ from: day(i), to: day(i + 1) }, query(RangeQueryDto));
    await ask(0);
    await ask(0);
    expect(validate).toHaveBeenCalledTimes(1);
    for (let i = 1; i < 1_100; i++) await ask(i);
    expect(validate).toHaveBeenCalledTimes(1_100);
    expect(await ask(0)).toMatchObject({ from: day(0), to: day(1) });
    expect(validate).toHaveBeenCalledTimes(1_101);
  });

  it('tells queries apart by every parameter and value', async () => {
    const pipe = createValidationPipe();
    const answers = [];
    for (const q of [{ limit: '5' }, { limit: '6' }, { by: 'orders', limit: '5' }, {}]) {
      answers.push(await pipe.transform(q, query(TopUsersQueryDto)));
    }
    expect(answers.map((a) => ({ ...(a as object) }))).toEqual([
      { by: 'spend', limit: 5 },
      { by: 'spend', limit: 6 },
      { by: 'orders', limit: 5 },
      { by: 'spend', limit: 10 },
    ]);
  });

  it('keeps the answers of one DTO class apart from another', async () => {
    const pipe = createValidationPipe();
    await pipe.transform({}, query(TopUsersQueryDto));
    const range: unknown = await pipe.transform({}, query(OptionalRangeQueryDto));
    expect(range).toBeInstanceOf(OptionalRangeQueryDto);
    expect(range).not.toHaveProperty('limit');
  });

  it('refuses a bad query every time, also after good ones for the same DTO', async () => {
    const pipe = createValidationPipe();
    await pipe.transform({ from: '2026-01-01', to: '2026-01-31' }, query(RangeQueryDto));
    for (let i = 0; i < 2; i++) {
      await expect(pipe.transform({ from: '2026-01-01' }, query(RangeQueryDto))).rejects.toThrow(ParameterException);
      await expect(pipe.transform({ limit: '5', extra: '1' }, query(TopUsersQueryDto))).rejects.toThrow(
        'unknown parameter extra',
      );
    }
  });
});

describe('the request pipe, given a parameter name that is not UTF-8', () => {
  it('says so instead of naming the parameter by replacement characters', async () => {
    const refusal = createValidationPipe().transform({ '\uFFFD': '1' }, query(TopUsersQueryDto));
    await expect(refusal).rejects.toThrow('a query parameter name is not valid percent-encoded UTF-8');
    await expect(refusal).rejects.toMatchObject({ parameter: 'query' });
  });
});

describe('the request pipe, given a parameter twice', () => {
  it.each([
    [{ granularity: ['month', 'month'], from: '2026-01-01', to: '2026-01-31' }, 'granularity'],
    [{ from: ['2026-01-01', '2026-01-02'], to: '2026-01-31' }, 'from'],
  ])('says which parameter was given more than once (%j)', async (q, parameter) => {
    const refusal = createValidationPipe().transform(q, query(RangeQueryDto));
    await expect(refusal).rejects.toThrow(`${parameter} is given more than once`);
    await expect(refusal).rejects.toMatchObject({ parameter });
  });
});
