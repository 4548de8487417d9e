import { innProblem, kppProblem } from '../../../gateway/domain/inn';

describe('ИНН and КПП', () => {
  test.each([
    ['7707083893', 'ПАО Сбербанк'],
    ['7736207543', 'ООО «Яндекс»'],
    ['500100732259', 'an individual'],
    ['7701234560', 'the test company'],
  ])('%s (%s) is valid', (inn) => {
    expect(innProblem(inn)).toBeNull();
  });

  test('a wrong check digit, in either place of a 12-digit ИНН, is named', () => {
    for (const inn of ['7707083894', '500100732249', '500100732258'])
      expect(innProblem(inn)).toBe('the check digits do not match: not a valid ИНН');
  });

  test('a wrong length or a letter is named', () => {
    for (const inn of ['770708389', '77070838931', '77O7083893', '']) expect(innProblem(inn)).toMatch(/10 digits .* 12 digits/);
  });

  test('a КПП: 4 digits, 2 digits or capital Latin letters, 3 digits', () => {
    expect(kppProblem('773601001')).toBeNull();
    expect(kppProblem('7736AB001')).toBeNull();
    for (const kpp of ['77360100', '7736ab001', '7736АБ001', 'A73601001']) expect(kppProblem(kpp)).not.toBeNull();
  });
});
